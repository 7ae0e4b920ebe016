//! One file-system type for the production store that can be either
//! implementation: direct I/O in the server, the fault-injecting memory
//! file system when the API layer's own crash tests run whole shards in
//! one process. A `match` per I/O call is noise next to the I/O itself.

use std::io;

use super::dma::{DmaFs, DmaFsFile};
use super::mem::{MemFile, MemFs};
use super::{Fs, FsFile};

pub enum EitherFs {
    Dma(DmaFs),
    Mem(MemFs),
}

pub enum EitherFile {
    Dma(DmaFsFile),
    Mem(MemFile),
}

macro_rules! both {
    ($self:expr, $inner:ident => $body:expr) => {
        match $self {
            EitherFs::Dma($inner) => $body,
            EitherFs::Mem($inner) => $body,
        }
    };
}

impl Fs for EitherFs {
    type File = EitherFile;

    async fn create(&self, name: &str) -> io::Result<EitherFile> {
        match self {
            EitherFs::Dma(fs) => fs.create(name).await.map(EitherFile::Dma),
            EitherFs::Mem(fs) => fs.create(name).await.map(EitherFile::Mem),
        }
    }

    async fn open(&self, name: &str) -> io::Result<EitherFile> {
        match self {
            EitherFs::Dma(fs) => fs.open(name).await.map(EitherFile::Dma),
            EitherFs::Mem(fs) => fs.open(name).await.map(EitherFile::Mem),
        }
    }

    async fn list(&self) -> io::Result<Vec<String>> {
        both!(self, fs => fs.list().await)
    }

    async fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        both!(self, fs => fs.rename(from, to).await)
    }

    async fn remove(&self, name: &str) -> io::Result<()> {
        both!(self, fs => fs.remove(name).await)
    }

    async fn sync_dir(&self) -> io::Result<()> {
        both!(self, fs => fs.sync_dir().await)
    }

    async fn create_dir(&self, name: &str) -> io::Result<()> {
        both!(self, fs => fs.create_dir(name).await)
    }

    fn subdir(&self, name: &str) -> io::Result<EitherFs> {
        match self {
            EitherFs::Dma(fs) => fs.subdir(name).map(EitherFs::Dma),
            EitherFs::Mem(fs) => fs.subdir(name).map(EitherFs::Mem),
        }
    }
}

macro_rules! both_file {
    ($self:expr, $inner:ident => $body:expr) => {
        match $self {
            EitherFile::Dma($inner) => $body,
            EitherFile::Mem($inner) => $body,
        }
    };
}

impl FsFile for EitherFile {
    async fn write_at(&self, buf: &[u8], pos: u64) -> io::Result<()> {
        both_file!(self, f => f.write_at(buf, pos).await)
    }

    async fn read_at(&self, pos: u64, len: usize) -> io::Result<Vec<u8>> {
        both_file!(self, f => f.read_at(pos, len).await)
    }

    async fn sync(&self) -> io::Result<()> {
        both_file!(self, f => f.sync().await)
    }

    async fn size(&self) -> io::Result<u64> {
        both_file!(self, f => f.size().await)
    }

    async fn preallocate(&self, len: u64) -> io::Result<()> {
        both_file!(self, f => f.preallocate(len).await)
    }
}
