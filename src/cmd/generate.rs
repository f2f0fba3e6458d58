//! `dunwell gen`: a realistic export of any size.

use super::Exit;
use crate::cli::GenArgs;
use crate::diag::Result;
use crate::generate::GenOptions;
use std::time::Instant;

pub fn generate(args: GenArgs) -> Result<Exit> {
    let t = Instant::now();
    if let (Some(outbox), Some(data)) = (&args.respond, &args.data) {
        let r = crate::simulate::respond(&crate::simulate::RespondOptions {
            outbox: outbox.clone(),
            data: data.clone(),
            out: args.out.clone(),
            seed: args.seed,
            days: args.days,
        })?;
        eprintln!(
            "wrote {} (as of {}): of {} contacted, {} paid, {} paid the day after, {} paid part, {} kept a promise, {} broke one, {} ignored; {} bounced, {} complained, {} opted out of SMS; in {:.2} s",
            args.out.display(),
            r.next_as_of,
            r.contacted,
            r.paid.len(),
            r.paid_late.len(),
            r.part_paid.len(),
            r.promised_kept.len(),
            r.promised_broken.len(),
            r.ignored.len(),
            r.bounced.len(),
            r.complained.len(),
            r.opted_out_sms.len(),
            t.elapsed().as_secs_f64()
        );
        let path = args.out.join("responses.json");
        crate::outbox::write_json(&path, &r)?;
        return Ok(Exit::Ok);
    }
    let mut stats = crate::generate::generate(&GenOptions {
        customers: args.customers,
        seed: args.seed,
        as_of: args.as_of,
        out: args.out.clone(),
    })?;
    stats.customers = args.customers;
    let mut line = Vec::new();
    stats.write_line(&mut line).expect("writing to memory");
    eprint!(
        "wrote {}: {}",
        args.out.display(),
        String::from_utf8_lossy(&line)
    );
    eprintln!("in {:.2} s", t.elapsed().as_secs_f64());
    Ok(Exit::Ok)
}
