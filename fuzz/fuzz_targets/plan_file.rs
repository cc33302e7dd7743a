//! A plan file (JSON, `docs/plan-files.md`), as `plans import` reads and checks it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motcua_core::plan::Plan;

fuzz_target!(|data: &[u8]| {
    if let Ok(plan) = serde_json::from_slice::<Plan>(data) {
        let _ = plan.validate(&|agency| agency.starts_with("so-") || agency == "ubnd-tinh");
    }
});
