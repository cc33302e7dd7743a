//! The delivery engine: 100,000 messages queued, then dispatched by one worker through the real
//! VNPT SMS client to the providers' sandbox over loopback, against the sandbox's bare capacity
//! measured in the same run (the same client sending the same requests from as many concurrent
//! tasks as the worker's batch, with no store). Then the latency from commit to the provider's
//! acceptance, for messages written one by one at half the measured rate while the worker runs.

use motcua_core::delivery::{DeliveryChannel, MessageKind};
use motcua_gateways::sms::vnpt::VnptSms;
use motcua_gateways::sms::SmsGateway;
use motcua_gateways::{Gateway, Outgoing};
use motcua_sandbox::Sandbox;
use motcua_store::{Store, StoreConfig};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Concurrent sends of the bare client: as many as the worker keeps in flight in one batch.
const CONCURRENCY: usize = 50;

fn gateway(sandbox: &Sandbox) -> anyhow::Result<SmsGateway> {
    let vnpt =
        VnptSms::new(sandbox.vnpt_config(), Duration::from_secs(10)).map_err(anyhow::Error::msg)?;
    Ok(SmsGateway::Vnpt(vnpt))
}

fn phone(i: usize) -> String {
    format!("091{i:07}")
}

const TEXT: &str =
    "Ho so 000.00.00.H00-261207-0001 cua ban da duoc tiep nhan. Hen tra ket qua ngay 14/12/2026.";

/// Requests a second the sandbox answers to the bare client.
async fn bare(gateway: Arc<SmsGateway>, count: usize) -> f64 {
    let started = Instant::now();
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|t| {
            let g = gateway.clone();
            tokio::spawn(async move {
                for i in (t..count).step_by(CONCURRENCY) {
                    let id = format!("bare-{i}");
                    let to = phone(i);
                    let m = Outgoing {
                        id: &id,
                        to: &to,
                        subject: "Hồ sơ",
                        body: TEXT,
                    };
                    let _ = g.send(&m).await;
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    count as f64 / started.elapsed().as_secs_f64()
}

fn percentile(sorted: &[time::Duration], p: f64) -> time::Duration {
    if sorted.is_empty() {
        return time::Duration::ZERO;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

async fn one_backend(name: &str, config: StoreConfig, count: usize) -> anyhow::Result<()> {
    println!("-- {name}");
    let store = Arc::new(Store::open_and_migrate(&config).await?);
    let sandbox =
        Sandbox::start("127.0.0.1:0".parse()?, motcua_sandbox::Settings::default()).await?;
    let sms = Arc::new(gateway(&sandbox)?);
    let base = bare(sms.clone(), count).await;
    println!(
        "bare client → sandbox ({CONCURRENCY} concurrent, baseline)   {base:>9.1}/s  (100.0 %)"
    );

    let rows: Vec<_> = (0..count)
        .map(|i| {
            (
                phone(i),
                "Hồ sơ".to_owned(),
                TEXT.to_owned(),
                format!("bench:{i}"),
            )
        })
        .collect();
    store.queue_messages(&rows, MessageKind::Notice).await?;
    let before = sandbox.received_count();
    let started = Instant::now();
    let worker = motcua_delivery::spawn_worker(
        store.clone(),
        DeliveryChannel::Sms,
        motcua_delivery::Phone::<SmsGateway, SmsGateway> {
            sms: sms.clone(),
            zalo: None,
            oa: None,
        },
        motcua_delivery::WorkerConfig {
            poll: Duration::from_millis(20),
            backoff: Duration::from_secs(30),
        },
    );
    while sandbox.received_count() - before < count {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rate = count as f64 / started.elapsed().as_secs_f64();
    println!(
        "engine: claim → send → record ({count} queued)   {rate:>9.1}/s  ({:>5.1} % of baseline)",
        100.0 * rate / base
    );

    // Latency: messages written one by one at half the rate just measured, worker running.
    let paced = 2_000.min(count);
    let gap = Duration::from_secs_f64(2.0 / rate);
    let before = sandbox.received_count();
    for i in 0..paced {
        let next = Instant::now() + gap;
        store
            .queue_message(
                &phone(i),
                "Hồ sơ",
                TEXT,
                &format!("paced:{i}"),
                MessageKind::Notice,
            )
            .await?;
        tokio::time::sleep_until(next.into()).await;
    }
    while sandbox.received_count() - before < paced {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The acceptance is recorded just after the sandbox logs the message.
    tokio::time::sleep(Duration::from_millis(200)).await;
    worker.abort();
    let mut delays = store.acceptance_delays(paced as i64).await?;
    delays.sort();
    println!(
        "commit → provider's acceptance at {:.0}/s ({} messages): p50 {:.1} ms  p99 {:.1} ms",
        rate / 2.0,
        delays.len(),
        percentile(&delays, 0.5).as_seconds_f64() * 1000.0,
        percentile(&delays, 0.99).as_seconds_f64() * 1000.0
    );
    Arc::try_unwrap(store)
        .map_err(|_| anyhow::anyhow!("store still shared"))?
        .close()
        .await;
    Ok(())
}

pub async fn run(count: usize, database: Option<crate::submit::Database>) -> anyhow::Result<()> {
    println!(
        "== delivery ({count} messages, VNPT SMS through the providers' sandbox over loopback)"
    );
    crate::submit::on_both_backends("delivery", database, |name, config| {
        one_backend(name, config, count)
    })
    .await
}
