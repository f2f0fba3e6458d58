//! `dunwell gen`: a realistic export of any size.

use super::Exit;
use crate::cli::GenArgs;
use crate::diag::Result;
use crate::generate::GenOptions;
use std::time::Instant;

pub fn generate(args: GenArgs) -> Result<Exit> {
    let t = Instant::now();
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
