//! `dunwell statement`: one customer's statement of account, as PDF and XLSX.

use super::Exit;
use crate::cli::StatementArgs;
use crate::diag::{Error, Result};

pub fn statement(args: StatementArgs) -> Result<Exit> {
    let p = super::prepare(&args.data)?;
    let campaign = &p.campaign;
    let data = &p.validated.dataset;
    let Some(i) = data.customers.iter().position(|c| c.id() == args.customer) else {
        let why = p
            .validated
            .rejected
            .iter()
            .find(|r| r.customer_id.as_deref() == Some(args.customer.as_str()))
            .map(|r| format!(": it was rejected ({}:{}: {})", r.file, r.line, r.message))
            .unwrap_or_else(|| ": no such customer in the export".to_string());
        eprintln!("{}{why}", args.customer);
        return Ok(Exit::Failed);
    };
    let formats =
        crate::format::Formats::new(campaign.locales.supported.iter().map(String::as_str));
    let formats = std::sync::Arc::new(formats);
    let templates = crate::templates::Templates::load(&campaign.templates, formats.clone())?;
    let letters = crate::letter::Letters::load(&campaign.templates, campaign.letters.clone())?;
    letters.check_creditor(campaign)?;
    let words = crate::letter::words::Words::load(&campaign.templates)?;
    let addresses = crate::letter::address::Addresses::load(&campaign.templates)?;
    let view = data.view(i);
    let locale = campaign.locales.pick_for(
        view.customer.language(),
        view.customer.get(crate::dataset::Field::Country),
    );
    let locale: &str = &locale;
    let since = args
        .since
        .unwrap_or_else(|| crate::statement::since(&view, campaign.as_of));
    let maker = crate::statement::Maker {
        campaign,
        letters: &letters,
        templates: &templates,
        formats: &formats,
        words: &words,
        addresses: &addresses,
    };
    let s = maker
        .make(&view, locale, since)
        .map_err(|d| Error::Config(vec![d]))?;
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    let name = crate::outbox::folder::file_name(&args.customer);
    for (ext, bytes) in [("pdf", &s.letter.bytes), ("xlsx", &s.xlsx)] {
        let path = args.out.join(format!("statement-{name}.{ext}"));
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
        out!("{}", path.display());
    }
    let balances: Vec<String> = s
        .balances
        .iter()
        .map(|(c, d)| format!("{} {}", crate::money::plain(*d, *c), c.code()))
        .collect();
    eprintln!("{}: balance {}", args.customer, balances.join(", "));
    Ok(Exit::Ok)
}
