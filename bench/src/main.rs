//! Benchmarks of motcua. Each figure is printed next to a baseline measured in the same run,
//! because absolute numbers on shared machines mean little; the ratio is what to compare.
//!
//! `cargo run --release -p motcua-bench -- [calendar] [search] [http] [submit] [lifecycle] [--seconds N]
//! [--database sqlite|postgres] [--series NAME,...]`

mod calendar;
mod cpu;
mod delivery;
mod http;
mod lifecycle;
mod load;
mod objects;
mod search;
mod submit;

use anyhow::{bail, Context};

/// What `--help` prints.
const USAGE: &str = "\
usage: motcua-bench [BENCHMARK ...] [--seconds N] [--messages N] [--database sqlite|postgres] [--series NAME,...]

Each figure is printed beside a baseline measured in the same run; compare the ratios.
With no BENCHMARK, all of them run. --seconds is the time per series (default 5).

  calendar   due dates of 1,000,000 dossiers in working days, against adding calendar days
  search     catalogue search over 10,000 procedures, against a bare HTTP handler
  http       portal pages and API reads, against a bare HTTP handler
  submit     durable online submissions, against writing a file + fsync + one insert
  lifecycle  a dossier from reception to hand-over, against six inserts + one durable file
  delivery   100,000 messages through the engine to the providers' sandbox, against the
             sandbox's bare capacity; then commit-to-acceptance latency

submit, lifecycle and delivery run on SQLite, then on PostgreSQL at MOTCUA_BENCH_POSTGRES (default
postgres://postgres@127.0.0.1:5432); without PostgreSQL that half is skipped, with a line saying so.
--database runs them on that one only (then a PostgreSQL that does not answer is an error).
--series limits submit to the named series beside its baseline, which always runs (for a
profiler, say): bare, upload, filing, multipart, whole, chunked.
Files and SQLite databases go to a temporary directory under TMPDIR: point it at the disk and
filesystem to be measured (a filesystem without a journal makes every raw fsync far cheaper).
";

fn main() -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut args = std::env::args().skip(1);
    let mut which = Vec::new();
    let mut seconds = 5_u64;
    let mut messages = 100_000_usize;
    let mut only = submit::Only::default();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = args
                    .next()
                    .context("--seconds needs a number")?
                    .parse()
                    .context("--seconds needs a whole number")?;
            }
            "--database" => {
                let name = args.next().context("--database needs sqlite or postgres")?;
                only.database = Some(match name.as_str() {
                    "sqlite" => submit::Database::Sqlite,
                    "postgres" => submit::Database::Postgres,
                    other => bail!("unknown database '{other}'; --database takes sqlite or postgres"),
                });
            }
            "--series" => {
                let names = args.next().context("--series needs names, as in multipart,filing")?;
                only.series = Some(submit::series_named(&names)?);
            }
            "--messages" => {
                messages = args
                    .next()
                    .context("--messages needs a number")?
                    .parse()
                    .context("--messages needs a whole number")?;
            }
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(());
            }
            "http" | "calendar" | "search" | "submit" | "lifecycle" | "delivery" => which.push(a),
            other => bail!(
                "unknown argument '{other}'; benchmarks: http, calendar, search, submit, lifecycle, delivery (--help for more)"
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
            "delivery".to_owned(),
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
            "submit" => rt.block_on(submit::run(seconds, &only))?,
            "lifecycle" => rt.block_on(lifecycle::run(seconds, only.database))?,
            "delivery" => rt.block_on(delivery::run(messages, only.database))?,
            _ => unreachable!("validated above"),
        }
    }
    Ok(())
}
