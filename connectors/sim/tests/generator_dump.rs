use twotrack_sim::generator::*;
#[test]
fn dump() {
    let n: usize = std::env::var("N").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    let items = generate(&GenOptions { items_per_tracker: n, ..Default::default() });
    let f = std::fs::File::create("/tmp/gen_dump.jsonl").unwrap();
    write_jsonl(std::io::BufWriter::new(f), &items).unwrap();
}
