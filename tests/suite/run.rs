//! What a `twotrack` child process did, for every harness of the suite.

use std::process::Output;

/// A finished `twotrack` child: its status and both streams as text.
#[derive(Debug)]
pub struct Run {
    pub output: Output,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(output: Output) -> Run {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        Run { output, stdout, stderr }
    }

    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    /// Whether the process was killed by a signal (an abort) rather than exiting.
    pub fn died(&self) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            self.output.status.signal().is_some()
        }
        #[cfg(not(unix))]
        {
            !self.output.status.success()
        }
    }

    /// Both streams, for assertions about everything the user saw.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}
