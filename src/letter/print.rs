//! `letters/print.pdf` and `letters/print.csv`: every letter of the run bound into one
//! file in plan order for the print shop, each letter starting on an odd page so that
//! duplex printing never puts two customers on one sheet.
//!
//! The file is streamed, not held: each letter's objects are renumbered into the
//! growing file and written at once; only the page list and the cross-reference
//! offsets stay in memory (a few bytes per page). Renumbering runs on the render
//! threads (`prepare`, `serialize`), on the objects the letter was written from — no
//! PDF is parsed back; the writer only appends.
//!
//! A letter's enclosures — the claimed invoices' own PDFs — join its objects before
//! that ([`enclose`]), so to the binder they are pages of the letter like any other.

use crate::diag::{Error, Result};
use lopdf::{Object, ObjectId};
use sha2::Digest;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A letter's objects, parsed: what its pages need, without its catalog and page tree.
pub struct Prepared {
    objects: Vec<(ObjectId, Object)>,
    pages: Vec<ObjectId>,
    /// The letter's own page count (before padding to an even count).
    pub pages_in_letter: usize,
}

/// A letter's objects renumbered from `base`, serialized.
pub struct Serialized {
    bytes: Vec<u8>,
    /// Offset of each object within `bytes`, in id order from `base`.
    offsets: Vec<u64>,
    kids: Vec<u32>,
}

const PAGES_ID: u32 = 2;
const A4: [f32; 4] = [0.0, 0.0, 595.2756, 841.8898];

/// The letters of a print batch (`DIR/letters/print.csv`, as the binder wrote it or a
/// cut-off rebound it), in print order; none when the outbox has no print batch. What
/// `outbox posted`, the cut-off and the recovery report all read.
pub fn letter_ids(outbox: &Path) -> Result<Vec<String>> {
    let path = outbox.join("letters").join("print.csv");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let bad = |why: String| Error::Refused(format!("{}: {why}", path.display()));
    let mut r = csv::Reader::from_path(&path).map_err(|e| bad(e.to_string()))?;
    let col = r
        .headers()
        .map_err(|e| bad(e.to_string()))?
        .iter()
        .position(|h| h == "letter_id")
        .ok_or_else(|| {
            bad("no `letter_id` column (expected print.csv as dunwell writes it)".into())
        })?;
    let mut out = Vec::new();
    for row in r.records() {
        let row = row.map_err(|e| bad(e.to_string()))?;
        out.push(crate::escape::read_cell(row.get(col).unwrap_or("")).to_string());
    }
    Ok(out)
}

/// Keeps what a letter's pages reach (not following `/Parent`).
pub fn prepare(mut doc: lopdf::Document) -> Prepared {
    let pages: Vec<ObjectId> = doc.get_pages().into_values().collect();
    let inherited: Vec<(&[u8], Object)> =
        match doc.catalog().ok().and_then(|c| c.get(b"Pages").ok()) {
            Some(Object::Reference(root)) => doc
                .get_dictionary(*root)
                .map(|d| {
                    [b"MediaBox".as_slice(), b"Resources".as_slice()]
                        .into_iter()
                        .filter_map(|k| d.get(k).ok().map(|v| (k, v.clone())))
                        .collect()
                })
                .unwrap_or_default(),
            _ => Vec::new(),
        };
    let mut seen: BTreeMap<ObjectId, ()> = BTreeMap::new();
    let mut order: Vec<ObjectId> = Vec::new();
    let mut stack: Vec<ObjectId> = pages.iter().rev().copied().collect();
    while let Some(id) = stack.pop() {
        if seen.insert(id, ()).is_some() {
            continue;
        }
        order.push(id);
        if let Ok(obj) = doc.get_object(id) {
            let mut refs = Vec::new();
            references(obj, &mut refs);
            stack.extend(refs.into_iter().rev());
        }
    }
    let mut objects = Vec::with_capacity(order.len());
    for id in order {
        let Some(mut obj) = doc.objects.remove(&id) else {
            continue;
        };
        if pages.contains(&id)
            && let Object::Dictionary(d) = &mut obj
        {
            for (k, v) in &inherited {
                if !d.has(k) {
                    d.set(k.to_vec(), v.clone());
                }
            }
        }
        objects.push((id, obj));
    }
    let n = pages.len();
    Prepared {
        objects,
        pages,
        pages_in_letter: n,
    }
}

/// Attributes a page may take from the page-tree nodes above it (ISO 32000-1, 7.7.3.4).
const INHERITABLE: [&[u8]; 4] = [b"Resources", b"MediaBox", b"CropBox", b"Rotate"];

/// Appends the pages of `documents` (the invoices a letter claims, as issued) after the
/// letter's own, in order, and returns how many were added. Each document's objects
/// that its pages reach are renumbered after the letter's; its pages hang directly
/// under the letter's page tree, with what they inherited from their own tree copied
/// into them, so that `prepare` and every PDF reader see them as the letter's pages.
pub fn enclose(letter: &mut lopdf::Document, documents: Vec<lopdf::Document>) -> usize {
    let Some(root) = letter
        .catalog()
        .ok()
        .and_then(|c| c.get(b"Pages").ok())
        .and_then(|p| p.as_reference().ok())
    else {
        return 0;
    };
    let mut next = letter.objects.keys().map(|id| id.0).max().unwrap_or(0) + 1;
    let mut added: Vec<Object> = Vec::new();
    for mut doc in documents {
        let pages: Vec<ObjectId> = doc.get_pages().into_values().collect();
        for &page in &pages {
            inherit(&mut doc, page);
        }
        let order = reachable(&doc, &pages);
        let map: HashMap<ObjectId, u32> = order
            .iter()
            .enumerate()
            .map(|(k, id)| (*id, next + k as u32))
            .collect();
        next += order.len() as u32;
        for id in &order {
            let Some(mut obj) = doc.objects.remove(id) else {
                continue;
            };
            remap(&mut obj, &map);
            match &mut obj {
                Object::Dictionary(d) if pages.contains(id) => {
                    d.set("Parent", Object::Reference(root));
                }
                // A length written as a reference is taken from the bytes themselves.
                Object::Stream(s) => s.dict.set("Length", s.content.len() as i64),
                _ => {}
            }
            letter.objects.insert((map[id], 0), obj);
        }
        added.extend(pages.iter().map(|p| Object::Reference((map[p], 0))));
    }
    letter.max_id = letter.max_id.max(next - 1);
    let n = added.len();
    if let Ok(tree) = letter.get_dictionary_mut(root) {
        let count = tree.get(b"Count").and_then(Object::as_i64).unwrap_or(0);
        if let Ok(Object::Array(kids)) = tree.get_mut(b"Kids") {
            kids.extend(added);
        }
        tree.set("Count", count + n as i64);
    }
    n
}

/// Copies into `page` what it inherits from the nodes above it and does not set itself.
fn inherit(doc: &mut lopdf::Document, page: ObjectId) {
    let mut found: Vec<(&[u8], Object)> = Vec::new();
    let mut node = page;
    // A tree that loops back on itself ends here rather than hanging the run.
    for _ in 0..64 {
        let Ok(d) = doc.get_dictionary(node) else {
            break;
        };
        for key in INHERITABLE {
            if !found.iter().any(|(k, _)| *k == key)
                && let Ok(v) = d.get(key)
            {
                found.push((key, v.clone()));
            }
        }
        match d.get(b"Parent").and_then(Object::as_reference) {
            Ok(parent) => node = parent,
            Err(_) => break,
        }
    }
    if let Ok(d) = doc.get_dictionary_mut(page) {
        for (key, value) in found {
            if !d.has(key) {
                d.set(key.to_vec(), value);
            }
        }
    }
}

/// The objects `pages` reach (not following `/Parent`), pages first, in a stable order.
fn reachable(doc: &lopdf::Document, pages: &[ObjectId]) -> Vec<ObjectId> {
    let mut seen: std::collections::BTreeSet<ObjectId> = std::collections::BTreeSet::new();
    let mut order: Vec<ObjectId> = Vec::new();
    let mut stack: Vec<ObjectId> = pages.iter().rev().copied().collect();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        if let Ok(obj) = doc.get_object(id) {
            order.push(id);
            let mut refs = Vec::new();
            references(obj, &mut refs);
            stack.extend(refs.into_iter().rev());
        }
    }
    order
}

fn references(obj: &Object, out: &mut Vec<ObjectId>) {
    match obj {
        Object::Reference(id) => out.push(*id),
        Object::Array(a) => a.iter().for_each(|o| references(o, out)),
        Object::Dictionary(d) => {
            for (k, v) in d.iter() {
                if k.as_slice() != b"Parent" {
                    references(v, out);
                }
            }
        }
        Object::Stream(s) => {
            for (k, v) in s.dict.iter() {
                if k.as_slice() != b"Parent" {
                    references(v, out);
                }
            }
        }
        _ => {}
    }
}

fn remap(obj: &mut Object, map: &HashMap<ObjectId, u32>) {
    match obj {
        Object::Reference(id) => {
            // A dangling reference becomes null rather than pointing into another letter.
            match map.get(id) {
                Some(n) => *id = (*n, 0),
                None => *obj = Object::Null,
            }
        }
        Object::Array(a) => a.iter_mut().for_each(|o| remap(o, map)),
        Object::Dictionary(d) => d.iter_mut().for_each(|(_, v)| remap(v, map)),
        Object::Stream(s) => s.dict.iter_mut().for_each(|(_, v)| remap(v, map)),
        _ => {}
    }
}

impl Prepared {
    /// Object ids the letter takes in the bound file, with the blank page that makes
    /// its page count even.
    pub fn ids_needed(&self) -> u32 {
        (self.objects.len() + self.pages_in_letter % 2) as u32
    }

    pub fn serialize(mut self, base: u32) -> Serialized {
        let map: HashMap<ObjectId, u32> = self
            .objects
            .iter()
            .enumerate()
            .map(|(k, (id, _))| (*id, base + k as u32))
            .collect();
        let mut bytes = Vec::new();
        let mut offsets = Vec::new();
        let pages: Vec<ObjectId> = std::mem::take(&mut self.pages);
        for (k, (old, obj)) in self.objects.iter_mut().enumerate() {
            remap(obj, &map);
            if pages.contains(old)
                && let Object::Dictionary(d) = obj
            {
                d.set("Parent", Object::Reference((PAGES_ID, 0)));
            }
            offsets.push(bytes.len() as u64);
            write_obj(&mut bytes, base + k as u32, obj);
        }
        let mut kids: Vec<u32> = pages.iter().map(|p| map[p]).collect();
        if self.pages_in_letter % 2 == 1 {
            let id = base + self.objects.len() as u32;
            offsets.push(bytes.len() as u64);
            write_obj(&mut bytes, id, &blank_page());
            kids.push(id);
        }
        Serialized {
            bytes,
            offsets,
            kids,
        }
    }
}

fn blank_page() -> Object {
    let mut d = lopdf::Dictionary::new();
    d.set("Type", Object::Name(b"Page".to_vec()));
    d.set("Parent", Object::Reference((PAGES_ID, 0)));
    d.set(
        "MediaBox",
        Object::Array(A4.iter().map(|v| Object::Real(*v)).collect()),
    );
    d.set("Resources", Object::Dictionary(lopdf::Dictionary::new()));
    Object::Dictionary(d)
}

fn write_obj(out: &mut Vec<u8>, id: u32, obj: &Object) {
    let _ = writeln!(out, "{id} 0 obj");
    serialize(out, obj);
    out.extend_from_slice(b"\nendobj\n");
}

/// PDF object syntax (ISO 32000-1 §7.3); lopdf parses but keeps its writer private.
fn serialize(out: &mut Vec<u8>, obj: &Object) {
    match obj {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Object::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        Object::Real(r) => {
            let _ = write!(out, "{r}");
        }
        Object::Name(n) => name(out, n),
        Object::String(bytes, _) => {
            out.push(b'<');
            for b in bytes {
                let _ = write!(out, "{b:02X}");
            }
            out.push(b'>');
        }
        Object::Array(a) => {
            out.push(b'[');
            for (k, o) in a.iter().enumerate() {
                if k > 0 {
                    out.push(b' ');
                }
                serialize(out, o);
            }
            out.push(b']');
        }
        Object::Dictionary(d) => dict(out, d.iter()),
        Object::Stream(s) => {
            let mut d = s.dict.clone();
            d.set("Length", Object::Integer(s.content.len() as i64));
            dict(out, d.iter());
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(&s.content);
            out.extend_from_slice(b"\nendstream");
        }
        Object::Reference((id, generation)) => {
            let _ = write!(out, "{id} {generation} R");
        }
    }
}

fn dict<'a>(out: &mut Vec<u8>, entries: impl Iterator<Item = (&'a Vec<u8>, &'a Object)>) {
    out.extend_from_slice(b"<<");
    for (k, v) in entries {
        name(out, k);
        out.push(b' ');
        serialize(out, v);
    }
    out.extend_from_slice(b">>");
}

fn name(out: &mut Vec<u8>, n: &[u8]) {
    out.push(b'/');
    for &b in n {
        if b.is_ascii_alphanumeric() || b"-_.+".contains(&b) {
            out.push(b);
        } else {
            let _ = write!(out, "#{b:02X}");
        }
    }
}

/// The bound file being written.
pub struct Binder {
    path: PathBuf,
    file: std::io::BufWriter<std::fs::File>,
    hash: sha2::Sha256,
    written: u64,
    next_id: u32,
    offsets: Vec<u64>,
    kids: Vec<u32>,
    csv: csv::Writer<std::fs::File>,
    csv_path: PathBuf,
    pub letters: usize,
}

impl Binder {
    /// `DIR/print.pdf` and `DIR/print.csv`.
    pub fn create(dir: &Path) -> Result<Binder> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        Binder::create_at(dir.join("print.pdf"), dir.join("print.csv"))
    }

    /// The bound file and its list at these paths (`outbox cutoff` binds into temporary
    /// files and renames them over the run's).
    pub fn create_at(path: PathBuf, csv_path: PathBuf) -> Result<Binder> {
        let file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut csv =
            csv::Writer::from_path(&csv_path).map_err(|e| Error::io(&csv_path, e.into()))?;
        csv.write_record(["letter_id", "first_page", "pages", "customer_id"])
            .map_err(|e| Error::io(&csv_path, e.into()))?;
        let mut b = Binder {
            path,
            file: std::io::BufWriter::with_capacity(1 << 20, file),
            hash: sha2::Sha256::new(),
            written: 0,
            next_id: 3,
            offsets: vec![0, 0],
            kids: Vec::new(),
            csv,
            csv_path,
            letters: 0,
        };
        b.put(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")?;
        Ok(b)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.hash.update(bytes);
        self.written += bytes.len() as u64;
        self.file
            .write_all(bytes)
            .map_err(|e| Error::io(&self.path, e))
    }

    /// The first object id for a letter needing `n` ids.
    pub fn reserve(&mut self, n: u32) -> u32 {
        let base = self.next_id;
        self.next_id += n;
        base
    }

    /// Appends a letter serialized from the id `reserve` gave it, in plan order.
    pub fn append(
        &mut self,
        s: Serialized,
        letter_id: &str,
        customer_id: &str,
        pages: usize,
    ) -> Result<()> {
        let at = self.written;
        self.offsets.extend(s.offsets.iter().map(|o| at + o));
        let first_page = self.kids.len() + 1;
        self.kids.extend(&s.kids);
        self.put(&s.bytes)?;
        self.letters += 1;
        self.csv
            .write_record([
                &*crate::escape::safe_cell(letter_id),
                &first_page.to_string(),
                &pages.to_string(),
                &*crate::escape::safe_cell(customer_id),
            ])
            .map_err(|e| Error::io(&self.csv_path, e.into()))
    }

    /// Writes the page tree, catalog, cross-reference table and trailer.
    pub fn finish(mut self) -> Result<usize> {
        let mut tail = Vec::new();
        self.offsets[1] = self.written;
        let kids: Vec<String> = self.kids.iter().map(|k| format!("{k} 0 R")).collect();
        let _ = write!(
            tail,
            "2 0 obj\n<</Type/Pages/Count {}/Kids[{}]>>\nendobj\n",
            self.kids.len(),
            kids.join(" ")
        );
        self.offsets[0] = self.written + tail.len() as u64;
        tail.extend_from_slice(b"1 0 obj\n<</Type/Catalog/Pages 2 0 R>>\nendobj\n");
        self.put(&tail)?;
        let id = crate::hash::hex(&self.hash.clone().finalize());
        let xref_at = self.written;
        let mut x = Vec::with_capacity(20 * (self.offsets.len() + 2));
        let _ = write!(
            x,
            "xref\n0 {}\n0000000000 65535 f \n",
            self.offsets.len() + 1
        );
        for o in &self.offsets {
            let _ = writeln!(x, "{o:010} 00000 n ");
        }
        let _ = write!(
            x,
            "trailer\n<</Size {}/Root 1 0 R/ID[<{}><{}>]>>\nstartxref\n{xref_at}\n%%EOF\n",
            self.offsets.len() + 1,
            &id[..32],
            &id[..32]
        );
        self.put(&x)?;
        self.file.flush().map_err(|e| Error::io(&self.path, e))?;
        self.csv.flush().map_err(|e| Error::io(&self.csv_path, e))?;
        Ok(self.kids.len())
    }
}
