//! Benchmarks of motcua. Each figure is reported next to a baseline measured in the same run,
//! because absolute numbers on shared machines mean little.

fn main() {
    println!("motcua-bench: no benchmark yet");
}
