//! Running the binary and reading what it wrote, and the helpers every module shares:
//! one link secret, one way to run a campaign, one copy of the sample to edit.

mod expect;
pub use expect::*;
pub mod pg;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The payment-link secret of every test that signs (`run`, `link`); a test that needs a
/// foreign secret writes its own. Tokens, links and Message-IDs are made with it: the
/// expected files that hold them (tests/expected/) change with it.
pub const SECRET: (&str, &str) = (
    "DUNWELL_LINK_SECRET",
    "test secret, long enough to sign: 0123456789",
);

/// The sample campaign, as the README runs it.
pub const SAMPLE: &str = "samples/campaign.yaml";

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `dunwell` with `args` from the repository root.
pub fn dunwell<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    dunwell_env(args, &[])
}

/// Runs `dunwell` with `args` and these environment variables (and without a
/// `DUNWELL_LINK_SECRET` the test runner may have).
pub fn dunwell_env<I, S>(args: I, env: &[(&str, &str)]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = Command::new(env!("CARGO_BIN_EXE_dunwell"))
        .args(args)
        .current_dir(root())
        .env_remove("DUNWELL_LINK_SECRET")
        .envs(env.iter().copied())
        .output()
        .expect("the dunwell binary runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> String {
    format!("tests/fixtures/{name}")
}

/// A fresh output folder for one test.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

/// A fixture campaign made ready for a cycle with a history store: a second rung
/// (`final_notice` from 30 days; with a history an invoice is never reminded twice at one
/// rung) and no `send_from`, so that each run sends on its own campaign date.
pub fn with_final_notice_rung(campaign: &str) -> String {
    campaign
        .replace(
            "  - {name: reminder, from: 1}\n",
            "  - {name: reminder, from: 1, to: 29}\n  - {name: final_notice, from: 30}\n",
        )
        .lines()
        .filter(|l| !l.trim_start().starts_with("send_from:"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A CSV file as rows of column → value, in file order.
pub fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = rdr.byte_headers().unwrap().clone();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    rdr.byte_records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (text(h), text(v)))
                .collect()
        })
        .collect()
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// The lines of a JSON-lines file (manifest.jsonl, sms.jsonl, what a test server got);
/// a missing file is empty.
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect()
}

/// An outbox's manifest.jsonl.
pub fn manifest(outbox: &Path) -> Vec<serde_json::Value> {
    read_jsonl(&outbox.join("manifest.jsonl"))
}

/// Runs `segment` on a campaign into a fresh folder; returns the run and the folder.
pub fn segment(campaign: &str, extra: &[&str]) -> (Run, tempfile::TempDir) {
    let out = tempdir();
    let mut args = vec![
        "segment".to_string(),
        campaign.to_string(),
        "--out".into(),
        out.path().display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    (dunwell(&args), out)
}

/// `dunwell run CAMPAIGN --out OUT EXTRA…` with [`SECRET`].
pub fn run_campaign(campaign: &str, out: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["run", campaign, "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    dunwell_env(&args, &[SECRET])
}

/// [`run_campaign`] into a fresh folder, which must succeed (exit 0): the outbox.
pub fn outbox_of(campaign: &str, extra: &[&str]) -> tempfile::TempDir {
    let out = tempdir();
    let r = run_campaign(campaign, out.path(), extra);
    assert_eq!(r.code, 0, "{}", r.stderr);
    out
}

/// The sample campaign's messages of one channel in a fresh outbox.
pub fn sample_outbox(channel: &str, extra: &[&str]) -> tempfile::TempDir {
    let mut args = vec!["--channel", channel];
    args.extend_from_slice(extra);
    outbox_of(SAMPLE, &args)
}

/// The sample campaign's e-mails in a fresh outbox.
pub fn email_outbox(extra: &[&str]) -> tempfile::TempDir {
    sample_outbox("email", extra)
}

/// The sample campaign with its templates and rules, copied so a test can change them:
/// `DIR/samples/campaign.yaml` (its data beside it), `DIR/templates`, `DIR/segments` — the
/// repository's layout, so the campaign's relative paths hold.
pub fn sample_copy() -> tempfile::TempDir {
    let dir = tempdir();
    for sub in ["samples", "templates", "segments"] {
        copy_tree(&root().join(sub), &dir.path().join(sub));
    }
    dir
}

/// The sample campaign file's text with its data, rules and templates paths made
/// absolute: edited and written anywhere, it still finds them.
pub fn sample_text_with_absolute_paths() -> String {
    let root = root();
    let abs = |p: &str| root.join(p).display().to_string();
    std::fs::read_to_string(root.join(SAMPLE))
        .unwrap()
        .replace("data/", &format!("{}/", abs("samples/data")))
        .replace("../segments", &abs("segments"))
        .replace("../templates", &abs("templates"))
}

/// Copies a folder tree (a campaign with its templates and rules, to break a copy).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A small campaign over the sample data, written into `dir`: three cells in English
/// (an e-mail; an e-mail, a payment page and a letter) — a gallery in about a second.
/// `letter_and_web: false` leaves only the two e-mails.
pub fn small_campaign(dir: &Path, letter_and_web: bool) -> PathBuf {
    let text = sample_text_with_absolute_paths()
        .replace("supported: [en, it, pl, ro, lv, ja, zh]", "supported: [en]");
    let (start, end) = (
        text.find("\nmatrix:\n").expect("the sample has a matrix"),
        text.find("\n# The printed letter")
            .expect("and letters after it"),
    );
    let unable = if letter_and_web {
        "[email, web, letter]"
    } else {
        "[email]"
    };
    let text = format!(
        "{}\nmatrix:\n  forgetful:\n    reminder: [email]\n  unable:\n    final_notice: {unable}\n{}",
        &text[..start],
        &text[end..]
    );
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join("campaign.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

/// A running `dunwell serve`, stopped when dropped.
pub struct Serve {
    child: std::process::Child,
    /// The URL printed on stdout's first line.
    pub url: String,
    pub port: u16,
}

impl Serve {
    /// Starts `dunwell serve CAMPAIGN --port 0 EXTRA…` and waits for its first line.
    pub fn start(campaign: &Path, extra: &[&str]) -> Serve {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_dunwell"))
            .arg("serve")
            .arg(campaign)
            .args(["--port", "0"])
            .args(extra)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let mut serve = Serve {
            child,
            url: String::new(),
            port: 0,
        };
        serve.url = first
            .trim()
            .strip_prefix("serving ")
            .unwrap_or_else(|| panic!("serve printed {first:?}"))
            .to_string();
        let authority = serve.url["http://".len()..].split('/').next().unwrap();
        serve.port = authority.rsplit(':').next().unwrap().parse().unwrap();
        serve
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs an outside program the tests check with (pdftotext, qpdf, zbarimg …), which must
/// succeed: its stdout. scripts/test installs every one of them.
pub fn tool(cmd: &str, args: &[&str]) -> String {
    let o = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e} (scripts/test installs it)"));
    assert!(
        o.status.success(),
        "{cmd} {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}
