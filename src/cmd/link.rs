//! `dunwell link sign` and `link verify`: the payment portal's side.

use super::Exit;
use crate::cli::LinkCommand;
use crate::diag::{Error, Result};
use crate::money::Currency;

pub fn link(cmd: LinkCommand) -> Result<Exit> {
    use crate::payment::link::{Claims, Signer};
    match cmd {
        LinkCommand::Sign {
            campaign,
            customer,
            amount,
            currency,
            expires,
            base_url,
            secret_env,
        } => {
            let base_url = base_url
                .map(|b| crate::payment::link::check_base_url(&b))
                .transpose()
                .map_err(|m| Error::Usage(format!("--base-url {m}")))?;
            let signer = Signer::from_env(&secret_env)?;
            let currency = Currency::parse(&currency).map_err(Error::Usage)?;
            let amount = crate::money::parse_amount(&amount, Some(currency), false)
                .map_err(|m| Error::Usage(format!("--amount {m}")))?;
            let claims = Claims::new(&campaign, &customer, amount, currency, expires)
                .map_err(|m| Error::Usage(format!("--expires/--amount: {m}")))?;
            let token = signer.sign(&claims);
            out!("{token}");
            if let Some(base) = base_url {
                out!(
                    "{}",
                    crate::payment::link::url(&base, &token, &campaign, "web", "manual")
                );
                out!(
                    "{}",
                    crate::payment::link::short_url(&base, &signer.short(&claims))
                );
            }
            Ok(Exit::Ok)
        }
        LinkCommand::Verify {
            token,
            today,
            secret_env,
        } => {
            let signer = Signer::from_env(&secret_env)?;
            let today = today.unwrap_or_else(today_utc);
            match signer.verify(&token, today) {
                Ok(claims) => {
                    out!(
                        "{}",
                        serde_json::to_string_pretty(&claims).expect("claims serialise")
                    );
                    Ok(Exit::Ok)
                }
                Err(why) => {
                    eprintln!("invalid token: {why}");
                    Ok(Exit::Failed)
                }
            }
        }
    }
}

/// Today's date in UTC: the one place dunwell reads the clock (verifying a link's expiry
/// on the portal side; never for anything written to an outbox).
fn today_utc() -> chrono::NaiveDate {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    chrono::DateTime::from_timestamp(secs as i64, 0)
        .map_or(chrono::NaiveDate::MIN, |t| t.date_naive())
}
