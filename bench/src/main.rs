//! Benchmarks of motcua. Each figure is printed next to a baseline measured in the same run,
//! because absolute numbers on shared machines mean little; the ratio is what to compare.
//!
//! `cargo run --release -p motcua-bench -- [calendar] [search] [http] [submit] [lifecycle] [--seconds N]`

mod calendar;
mod cpu;
mod http;
mod lifecycle;
mod load;
mod search;
mod submit;

use anyhow::{bail, Context};

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut args = std::env::args().skip(1);
    let mut which = Vec::new();
    let mut seconds = 5_u64;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .context("--seconds needs a number")?
                    .parse()
                    .context("--seconds needs a whole number")?;
            }
            "http" | "calendar" | "search" | "submit" | "lifecycle" => which.push(a),
            other => bail!(
                "unknown benchmark '{other}'; known: http, calendar, search, submit, lifecycle"
            ),
        }
    }
    if which.is_empty() {
        which = vec![
            "calendar".to_owned(),
            "search".to_owned(),
            "http".to_owned(),
            "submit".to_owned(),
            "lifecycle".to_owned(),
        ];
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    for name in which {
        match name.as_str() {
            "http" => rt.block_on(http::run(seconds))?,
            "calendar" => calendar::run(1_000_000)?,
            "search" => rt.block_on(search::run(seconds))?,
            "submit" => rt.block_on(submit::run(seconds))?,
            "lifecycle" => rt.block_on(lifecycle::run(seconds))?,
            _ => unreachable!("validated above"),
        }
    }
    Ok(())
}
