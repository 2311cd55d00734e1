//! A progress bar on stderr for long scans; hidden with `--json` or off a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub fn bar(enabled: bool, what: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(0), if enabled { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() });
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
            .expect("static template")
            .progress_chars("=> "),
    );
    pb.set_message(what.to_string());
    pb
}
