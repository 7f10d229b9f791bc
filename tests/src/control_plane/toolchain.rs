//! The control plane's binaries: built (or found in the cache) by `tests/control-plane/build.sh`,
//! which pins every version.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::binaries::repo_root;

/// Where the built binaries are.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// The cache folder holding the control plane's binaries.
    pub dir: PathBuf,
    /// kwok's Stage configs (`kustomize/stage` in the Go module cache).
    pub kwok_stages: PathBuf,
}

/// Errors getting the binaries.
#[derive(Debug, thiserror::Error)]
pub enum ToolchainError {
    /// The build script could not be run.
    #[error("running {script}: {source}")]
    Run {
        /// The script.
        script: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The build failed (its own message, naming the missing piece, went to stderr).
    #[error("{script} failed ({status}); see its messages above")]
    Failed {
        /// The script.
        script: String,
        /// Its exit status.
        status: std::process::ExitStatus,
    },
    /// A binary is missing after the build.
    #[error("{0} is missing after the build")]
    Missing(String),
}

/// The build script.
pub fn build_script() -> PathBuf {
    repo_root().join("tests/control-plane/build.sh")
}

impl Toolchain {
    /// Builds what is missing (progress on stderr) and returns the binaries' folder.
    pub fn ensure() -> Result<Self, ToolchainError> {
        Self::ensure_target("control-plane")
    }

    /// Builds `target` (`control-plane`, `reloader` or `all`) and returns the folder the
    /// script printed last.
    fn ensure_target(target: &str) -> Result<Self, ToolchainError> {
        let script = build_script();
        let name = script.display().to_string();
        let output = Command::new("bash")
            .arg(&script)
            .arg(target)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|source| ToolchainError::Run {
                script: name.clone(),
                source,
            })?;
        if !output.status.success() {
            return Err(ToolchainError::Failed {
                script: name,
                status: output.status,
            });
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let dir = PathBuf::from(stdout.lines().last().unwrap_or_default().trim());
        let stages = std::fs::read_to_string(dir.join("kwok-stages.path")).unwrap_or_default();
        let toolchain = Self {
            kwok_stages: PathBuf::from(stages.trim()),
            dir,
        };
        for binary in [
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kwok",
        ] {
            let path = toolchain.binary(binary);
            if !path.is_file() {
                return Err(ToolchainError::Missing(path.display().to_string()));
            }
        }
        if !toolchain.kwok_stages.is_dir() {
            return Err(ToolchainError::Missing(format!(
                "kwok's Stage configs ({})",
                toolchain.kwok_stages.display()
            )));
        }
        Ok(toolchain)
    }

    /// The path of binary `name`.
    pub fn binary(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The kwok Stage files the fake nodes and pods need: every Stage in `node/fast`,
    /// `node/heartbeat-with-lease` and `pod/fast` (not their `kustomization.yaml`).
    pub fn kwok_stage_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = ["node/fast", "node/heartbeat-with-lease", "pod/fast"]
            .iter()
            .flat_map(|dir| stage_files(&self.kwok_stages.join(dir)))
            .collect();
        files.sort();
        files
    }
}

/// The Stage YAML files in `dir`.
fn stage_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml") && !p.ends_with("kustomization.yaml"))
        .collect()
}
