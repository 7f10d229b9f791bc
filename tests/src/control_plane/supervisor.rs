//! Starting the control plane's processes so that none outlives its owner.
//!
//! Every component runs in one process group. Beside them runs a watchdog shell whose stdin is
//! a pipe held by the owner: when the owner stops (normally, by panic, or by SIGKILL) the pipe
//! closes, and the watchdog sends SIGTERM to the group, then SIGKILL to what is left, then
//! removes the data folder. No `unsafe` (no `pre_exec`/`PR_SET_PDEATHSIG`) is needed.

use std::fs::File;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

/// Errors starting a process.
#[derive(Debug, thiserror::Error)]
#[error("starting {name} ({program}): {source}")]
pub struct SpawnError {
    /// The component.
    pub name: String,
    /// The executable.
    pub program: String,
    /// Cause.
    #[source]
    pub source: std::io::Error,
}

/// The running processes of one control plane, in one process group.
pub struct Supervisor {
    data_dir: PathBuf,
    group: Option<u32>,
    children: Vec<(String, Child)>,
    watchdog: Option<(Child, ChildStdin)>,
}

impl Supervisor {
    /// A supervisor whose processes log into, and whose watchdog removes, `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_path_buf(),
            group: None,
            children: Vec::new(),
            watchdog: None,
        }
    }

    /// The log file of component `name`.
    pub fn log_path(&self, name: &str) -> PathBuf {
        self.data_dir.join(format!("{name}.log"))
    }

    /// Starts `program args` as component `name`, its stdout and stderr in [`Self::log_path`].
    /// The first component leads the process group; the watchdog starts with it.
    pub fn spawn(&mut self, name: &str, program: &Path, args: &[String]) -> Result<u32, SpawnError> {
        let err = |source| SpawnError {
            name: name.to_owned(),
            program: program.display().to_string(),
            source,
        };
        let log = File::create(self.log_path(name)).map_err(err)?;
        let log_err = log.try_clone().map_err(err)?;
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .process_group(self.group.map_or(0, |g| i32::try_from(g).unwrap_or(0)));
        let child = command.spawn().map_err(err)?;
        let pid = child.id();
        self.children.push((name.to_owned(), child));
        if self.group.is_none() {
            self.group = Some(pid);
            self.start_watchdog(pid).map_err(err)?;
        }
        Ok(pid)
    }

    fn start_watchdog(&mut self, group: u32) -> std::io::Result<()> {
        // Waits for its stdin to close, then stops the group and removes the data folder.
        let script = r#"cat >/dev/null
kill -TERM "-$1" 2>/dev/null
for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "-$1" 2>/dev/null || break; sleep 0.3; done
kill -KILL "-$1" 2>/dev/null
rm -rf -- "$2""#;
        let mut child = Command::new("sh")
            .args(["-c", script, "watchdog"])
            .arg(group.to_string())
            .arg(&self.data_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("watchdog has no stdin"))?;
        self.watchdog = Some((child, stdin));
        Ok(())
    }

    /// The component that has exited, if any, with its exit status.
    pub fn exited(&mut self) -> Option<(String, std::process::ExitStatus)> {
        self.children
            .iter_mut()
            .find_map(|(name, child)| child.try_wait().ok().flatten().map(|s| (name.clone(), s)))
    }

    /// Kills component `name` with SIGKILL and reaps it (for crash tests).
    pub fn kill(&mut self, name: &str) -> std::io::Result<()> {
        if let Some(index) = self.children.iter().position(|(n, _)| n == name) {
            let (_, mut child) = self.children.remove(index);
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// The last `lines` lines of component `name`'s log.
    pub fn log_tail(&self, name: &str, lines: usize) -> String {
        let text = std::fs::read_to_string(self.log_path(name)).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Stops every component (SIGTERM, then SIGKILL after 3 s) and removes the data folder;
    /// returns once the watchdog has done so.
    pub fn stop(&mut self) {
        if let Some((mut watchdog, stdin)) = self.watchdog.take() {
            drop(stdin);
            let _ = watchdog.wait();
        }
        for (_, child) in &mut self.children {
            let _ = child.wait();
        }
        self.children.clear();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop();
    }
}
