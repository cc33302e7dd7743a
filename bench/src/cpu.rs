//! CPU time spent, read from Linux's `/proc`: the whole machine's busy time (this process, the
//! database server, the kernel's I/O work) and this process's own. Divided by the operations of a
//! series it gives CPU per operation, which tells where a ratio comes from on a machine whose
//! cores are all busy, and which noise moves far less than throughput.

use std::time::Duration;

/// A reading of both clocks; `None` where `/proc` is not there (the figures are then left out).
#[derive(Clone, Copy)]
pub(crate) struct Reading {
    machine: Duration,
    process: Duration,
}

/// CPU used between two readings.
#[derive(Clone, Copy, Default)]
pub(crate) struct Used {
    /// Busy time of every core together.
    pub(crate) machine: Duration,
    /// Of which this process (the server under test and its load generator).
    pub(crate) process: Duration,
}

impl std::ops::AddAssign for Used {
    fn add_assign(&mut self, other: Used) {
        self.machine += other.machine;
        self.process += other.process;
    }
}

/// Length of one tick of `/proc`'s counters, in nanoseconds.
fn tick_ns() -> u64 {
    1_000_000_000 / rustix::param::clock_ticks_per_second().max(1)
}

pub(crate) fn read() -> Option<Reading> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal: user to softirq, less idle and iowait,
    // is this machine's work (steal is another guest's).
    let busy: u64 = [0, 1, 2, 5, 6].iter().filter_map(|&i| cpu.get(i)).sum();
    let own = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and
    // 13th of them.
    let fields: Vec<u64> = own
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    let process = fields.get(11)? + fields.get(12)?;
    let t = tick_ns();
    Some(Reading {
        machine: Duration::from_nanos(busy.saturating_mul(t)),
        process: Duration::from_nanos(process.saturating_mul(t)),
    })
}

/// What was used since `start`.
pub(crate) fn since(start: Option<Reading>) -> Used {
    match (start, read()) {
        (Some(a), Some(b)) => Used {
            machine: b.machine.saturating_sub(a.machine),
            process: b.process.saturating_sub(a.process),
        },
        _ => Used::default(),
    }
}
