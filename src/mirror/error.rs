//! What can go wrong with the mirror, worded for the person who has to fix it.

use std::fmt;
use std::path::PathBuf;

/// An error from the mirror. Every variant that concerns the store on disk names its path.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// Another process (a running `twotrack run`, a `twotrack sync`) has the mirror open.
    #[error(
        "the mirror at {} is locked by another twotrack process; stop that process (or wait for it to finish) \
         and try again",
        path.display()
    )]
    Locked { path: PathBuf },

    /// The mirror, or one value in it, was written by a newer twotrack.
    #[error(
        "the mirror at {} was written by a newer twotrack (format v{found}; this build reads up to v{supported}); \
         upgrade twotrack, or set mirror.path to a new directory and run `twotrack sync --full`",
        path.display()
    )]
    NewerFormat { path: PathBuf, found: u64, supported: u64 },

    /// The store could not be opened (permissions, not a mirror directory, damaged files).
    #[error("cannot open the mirror at {}: {source}; check that the directory is writable and holds a twotrack mirror", path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: StorageError,
    },

    /// A read or write of the store failed.
    #[error("the mirror at {} failed: {source}", path.display())]
    Storage {
        path: PathBuf,
        #[source]
        source: StorageError,
    },

    /// A stored value cannot be decoded.
    #[error(
        "the mirror at {} holds an unreadable {what}: {detail}; save what is readable with `twotrack mirror export`, \
         move the directory away and run `twotrack sync --full`",
        path.display()
    )]
    Corrupt { path: PathBuf, what: &'static str, detail: String },

    /// There is no mirror where one was expected (a command that only reads it never creates one).
    #[error(
        "there is no mirror at {}; run `twotrack sync` to create it, or point mirror.path (or --mirror) at \
         an existing one",
        path.display()
    )]
    Missing { path: PathBuf },

    /// The store on disk is damaged: sled cannot read it, or it lost items it had made durable.
    #[error(
        "the mirror at {} is damaged: {detail}. Its items cannot be trusted: move the directory away (or set \
         mirror.path to a new one) and run `twotrack sync --full` to pull everything again",
        path.display()
    )]
    Damaged { path: PathBuf, detail: String },

    /// A tracker name, item key, scope or namespace that cannot be stored.
    #[error("invalid {what} {value:?}: it must be non-empty and must not contain a NUL character")]
    InvalidName { what: &'static str, value: String },

    /// An item passed for one tracker names another.
    #[error("item {key} says it belongs to tracker {found:?}, but it was stored for tracker {expected:?}")]
    WrongTracker { key: String, expected: String, found: String },

    /// A value could not be serialized.
    #[error("cannot encode {what} for the mirror: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// Writing an export failed.
    #[error("cannot write the export: {0}")]
    Export(#[source] std::io::Error),
}

/// The storage engine's own error, kept opaque so that no caller depends on the engine.
#[derive(Debug)]
pub struct StorageError(pub(super) sled::Error);

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}
