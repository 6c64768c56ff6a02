//! Records spilled to an unnamed temporary file as they are read, then read back in order as often as
//! needed: how `classify --site` holds an input of any size in flat memory (it reads it once to learn
//! the site, and once more to judge each item). Each record is its length (4 bytes) and its `postcard`
//! bytes; the file is gone when the last handle to it is closed, whatever way the process ends.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Records being written.
pub struct SpillWriter {
    out: BufWriter<File>,
    records: u64,
    scratch: Vec<u8>,
}

impl SpillWriter {
    /// A new spill in the temporary directory (`TMPDIR` sets it).
    pub fn new() -> io::Result<SpillWriter> {
        Ok(SpillWriter {
            out: BufWriter::with_capacity(1 << 20, tempfile::tempfile()?),
            records: 0,
            scratch: Vec::new(),
        })
    }

    pub fn push<T: Serialize>(&mut self, record: &T) -> io::Result<()> {
        self.scratch.clear();
        postcard::to_io(record, &mut self.scratch).map_err(io::Error::other)?;
        let len = u32::try_from(self.scratch.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a record of 4 GiB or more"))?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&self.scratch)?;
        self.records += 1;
        Ok(())
    }

    /// Every record written: read them back with [`Spilled::records`].
    pub fn finish(self) -> io::Result<Spilled> {
        let file = self.out.into_inner().map_err(io::IntoInnerError::into_error)?;
        Ok(Spilled { file, records: self.records })
    }
}

/// Records written, to be read back.
pub struct Spilled {
    file: File,
    records: u64,
}

impl Spilled {
    /// How many records were written.
    pub fn len(&self) -> u64 {
        self.records
    }

    /// The records, in the order written, each as its bytes ([`Raw::read`] decodes one). Reads one
    /// pass at a time: a new pass starts over from the first record.
    pub fn records(&self) -> io::Result<impl Iterator<Item = io::Result<Raw>> + Send + use<>> {
        let mut file = self.file.try_clone()?;
        file.seek(SeekFrom::Start(0))?;
        let mut input = BufReader::with_capacity(1 << 20, file);
        let mut left = self.records;
        Ok(std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let mut len = [0; 4];
            let record = input.read_exact(&mut len).and_then(|()| {
                let mut bytes = vec![0; u32::from_le_bytes(len) as usize];
                input.read_exact(&mut bytes).map(|()| Raw(bytes))
            });
            if record.is_err() {
                left = 0;
            }
            Some(record)
        }))
    }
}

/// One record's bytes, as written.
pub struct Raw(Vec<u8>);

impl Raw {
    pub fn read<T: DeserializeOwned>(&self) -> io::Result<T> {
        postcard::from_bytes(&self.0).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_in_order_on_every_pass() {
        let mut w = SpillWriter::new().unwrap();
        let records: Vec<(String, Option<u8>, Vec<String>)> = (0..20_000)
            .map(|i| (format!("SHOP-{i}"), (i % 3 == 0).then_some((i % 256) as u8), vec!["x".repeat(i % 700)]))
            .collect();
        for r in &records {
            w.push(r).unwrap();
        }
        let spilled = w.finish().unwrap();
        for _ in 0..2 {
            let back: Vec<(String, Option<u8>, Vec<String>)> =
                spilled.records().unwrap().map(|r| r.unwrap().read().unwrap()).collect();
            assert_eq!(back, records);
        }
    }

    #[test]
    fn a_record_read_as_something_else_is_an_error_not_a_panic() {
        let mut w = SpillWriter::new().unwrap();
        w.push(&"SHOP-1").unwrap();
        let spilled = w.finish().unwrap();
        let raw = spilled.records().unwrap().next().unwrap().unwrap();
        let err = raw.read::<(u64, String, Vec<u64>)>().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert_eq!(SpillWriter::new().unwrap().finish().unwrap().records().unwrap().count(), 0);
    }
}
