//! Progress on a terminal for the work that reads the whole mirror (`audit`, `apply`, `explain`): the phases the
//! audit tells of ([`crate::audit::Progress`]), drawn with `indicatif` on stderr. The commands draw them
//! only when stderr is a terminal and not under `-q` ([`super::Global::progress`]).

use indicatif::{ProgressBar, ProgressStyle};

use crate::audit::Phase;

/// The phases on a terminal, one after the other: a bar with the items read and an estimate of
/// the time left where the mirror's count gives a total, a spinner where not.
#[derive(Default)]
pub(super) struct Bars(std::sync::Mutex<Option<ProgressBar>>);

impl Bars {
    /// Bars where `drawn`, else progress shown nowhere.
    pub(super) fn when(drawn: bool) -> Box<dyn crate::audit::Progress> {
        if drawn { Box::new(Bars::default()) } else { Box::new(crate::audit::Quiet) }
    }

    fn bar(&self) -> std::sync::MutexGuard<'_, Option<ProgressBar>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl crate::audit::Progress for Bars {
    fn begin(&self, phase: Phase, items: Option<u64>) {
        let bar = match items {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template("{prefix:18} [{wide_bar}] {human_pos}/{human_len} items  eta {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            ),
            // The items of one tracker are read without a total; the other phases count nothing.
            None if phase == Phase::Judging => spinner_bar("{spinner} {prefix:18} {human_pos} items"),
            None => spinner_bar("{spinner} {prefix}"),
        };
        let bar = bar.with_prefix(phase.as_str());
        bar.enable_steady_tick(TICK);
        if let Some(before) = self.bar().replace(bar) {
            before.finish_and_clear();
        }
    }

    fn advance(&self, items: u64) {
        if let Some(bar) = &*self.bar() {
            bar.inc(items);
        }
    }

    fn end(&self) {
        if let Some(bar) = self.bar().take() {
            bar.finish_and_clear();
        }
    }
}

/// How often a bar is redrawn while nothing advances it (a phase that counts nothing, a slow item).
const TICK: std::time::Duration = std::time::Duration::from_millis(120);

/// A spinner saying what is being done.
pub(super) fn spinner(what: &'static str) -> ProgressBar {
    let bar = spinner_bar("{spinner} {prefix}").with_prefix(what);
    bar.enable_steady_tick(TICK);
    bar
}

fn spinner_bar(template: &str) -> ProgressBar {
    ProgressBar::new_spinner()
        .with_style(ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()))
}
