//! Prints a file's tags and parse warnings: `cargo run --example dump FILE`.
fn main() {
    for p in std::env::args().skip(1) {
        match medlens_dicom::open(&p) {
            Ok(f) => {
                println!("{p}: syntax {} declared={} warnings={:?}", f.parsed.syntax.uid, f.parsed.syntax_declared, f.parsed.warnings);
                for t in f.tags().iter().take(200) {
                    println!("{}{} {} {} = {}", "  ".repeat(t.depth as usize), t.tag, t.vr, t.keyword, t.value);
                }
            }
            Err(e) => println!("error: {e}"),
        }
    }
}
