//! An in-memory [`Fs`] with seeded fault injection, for fast deterministic
//! crash tests.
//!
//! It models what a crash may do to a real disk, conservatively:
//! - File contents: only what a completed `sync` covered survives
//!   [`MemFs::crash`]. Writes issued after the last sync survive or not per
//!   512-byte sector, chosen by the seed (a torn write; sectors themselves are
//!   atomic, as disks promise).
//! - Directory entries: creations, renames and removals survive a crash if a
//!   `sync_dir` of their directory followed them; unsynced ones may each
//!   survive or vanish, independently and in any combination (with a tear
//!   seed, a coin per operation; [`MemFs::crash_keeping_renames`] keeps every
//!   rename and removal but no creation, the worst case for "named before
//!   created" bugs). A directory's own entry lives in its parent
//!   ([`Fs::create_dir`], [`Fs::subdir`]): until the parent is synced, the
//!   whole subdirectory may vanish.
//! - [`FaultPlan`] fails the N-th mutating operation (write, sync, create,
//!   rename, remove, sync_dir, preallocate) with an errno (EIO, ENOSPC), once
//!   or from then on.
//!
//! Reads never fail: the engine's read-side fault handling is exercised by
//! corrupting bytes with [`MemFs::corrupt`].

use super::{BLOCK_BYTES, Fs, FsFile};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::rc::Rc;

const SECTOR_BYTES: usize = 512;

/// When and how to fail.
#[derive(Clone, Copy, Debug)]
pub struct FaultPlan {
    /// 1-based index of the first mutating operation that fails.
    pub at_op: u64,
    /// errno returned (`libc::EIO`, `libc::ENOSPC`).
    pub errno: i32,
    /// Keep failing every later mutating operation.
    pub sticky: bool,
}

#[derive(Default)]
struct Inode {
    durable: Vec<u8>,
    current: Vec<u8>,
    /// Writes since the last sync, in issue order: (pos, bytes).
    unsynced: Vec<(u64, Vec<u8>)>,
}

/// A directory change not yet made durable by `sync_dir`.
#[derive(Clone)]
enum DirOp {
    Create { name: String, ino: u64 },
    Rename { from: String, to: String, ino: u64 },
    Remove { name: String },
}

impl DirOp {
    fn apply(&self, dir: &mut BTreeMap<String, u64>) {
        match self {
            DirOp::Create { name, ino } => {
                dir.insert(name.clone(), *ino);
            }
            DirOp::Rename { from, to, ino } => {
                dir.remove(from);
                dir.insert(to.clone(), *ino);
            }
            DirOp::Remove { name } => {
                dir.remove(name);
            }
        }
    }
}

/// Which unsynced directory operations survive a crash.
#[derive(Clone, Copy)]
enum DirCrash {
    /// None (no tear seed) or each with probability 1/2 (seeded).
    Coin,
    /// Renames and removals survive, creations vanish.
    KeepRenames,
}

#[derive(Default)]
struct State {
    inodes: HashMap<u64, Inode>,
    dir_current: BTreeMap<String, u64>,
    dir_durable: BTreeMap<String, u64>,
    /// Directory operations since the last `sync_dir`, in order.
    dir_pending: Vec<DirOp>,
    /// Subdirectories by inode number (their entries live in the maps above).
    children: HashMap<u64, Rc<RefCell<State>>>,
    next_inode: u64,
    ops: u64,
    fault: Option<FaultPlan>,
    bytes_written: u64,
    /// Times `FsFile::sync` yields to other tasks before completing.
    sync_yields: u32,
}

impl State {
    fn mutating_op(&mut self) -> io::Result<()> {
        self.ops += 1;
        if let Some(plan) = self.fault {
            let hit = if plan.sticky {
                self.ops >= plan.at_op
            } else {
                self.ops == plan.at_op
            };
            if hit {
                return Err(io::Error::from_raw_os_error(plan.errno));
            }
        }
        Ok(())
    }
}

/// The in-memory directory. Clones share state (a test keeps one to crash).
#[derive(Clone, Default)]
pub struct MemFs {
    state: Rc<RefCell<State>>,
}

/// An open in-memory file (an inode: it outlives removal of its name).
pub struct MemFile {
    state: Rc<RefCell<State>>,
    inode: u64,
}

/// splitmix64: a tiny deterministic generator for tearing.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn apply(buf: &mut Vec<u8>, pos: usize, data: &[u8]) {
    if buf.len() < pos + data.len() {
        buf.resize(pos + data.len(), 0);
    }
    buf[pos..pos + data.len()].copy_from_slice(data);
}

fn crash_state(state: &State, tear_seed: Option<u64>, mode: DirCrash) -> State {
    let mut rng = tear_seed.unwrap_or(0);
    let mut dir = state.dir_durable.clone();
    for op in &state.dir_pending {
        let survives = match (mode, op) {
            (DirCrash::KeepRenames, DirOp::Create { .. }) => false,
            (DirCrash::KeepRenames, _) => true,
            (DirCrash::Coin, _) => tear_seed.is_some() && splitmix64(&mut rng) & 1 == 1,
        };
        if survives {
            op.apply(&mut dir);
        }
    }
    let mut after = State {
        next_inode: state.next_inode,
        ..State::default()
    };
    for (name, &ino) in &dir {
        after.dir_current.insert(name.clone(), ino);
        after.dir_durable.insert(name.clone(), ino);
        if let Some(child) = state.children.get(&ino) {
            let seed = tear_seed.map(|_| splitmix64(&mut rng));
            let child = crash_state(&child.borrow(), seed, mode);
            after.children.insert(ino, Rc::new(RefCell::new(child)));
            continue;
        }
        if after.inodes.contains_key(&ino) {
            continue;
        }
        let Some(inode) = state.inodes.get(&ino) else {
            continue;
        };
        let mut content = inode.durable.clone();
        if tear_seed.is_some() {
            for (pos, data) in &inode.unsynced {
                for (i, sector) in data.chunks(SECTOR_BYTES).enumerate() {
                    if splitmix64(&mut rng) & 1 == 1 {
                        apply(&mut content, *pos as usize + i * SECTOR_BYTES, sector);
                    }
                }
            }
        }
        after.inodes.insert(
            ino,
            Inode {
                durable: content.clone(),
                current: content,
                unsynced: Vec::new(),
            },
        );
    }
    after
}

impl MemFs {
    pub fn new() -> MemFs {
        MemFs::default()
    }

    /// Arms (or with `None` disarms) a fault, counting from operation 1 now.
    pub fn set_fault(&self, fault: Option<FaultPlan>) {
        let mut state = self.state.borrow_mut();
        state.ops = 0;
        state.fault = fault;
    }

    /// Makes every file sync yield `yields` times before it completes
    /// (a slow disk; 0, the default, completes at once).
    pub fn set_sync_yields(&self, yields: u32) {
        self.state.borrow_mut().sync_yields = yields;
    }

    /// Mutating operations performed since the last `set_fault`.
    pub fn ops(&self) -> u64 {
        self.state.borrow().ops
    }

    /// Total bytes passed to `write_at`.
    pub fn bytes_written(&self) -> u64 {
        self.state.borrow().bytes_written
    }

    /// What the disk holds after power loss now: a new, independent `MemFs`.
    /// With `tear_seed`, each unsynced sector survives with probability 1/2,
    /// and so does each unsynced directory operation; without, none does.
    pub fn crash(&self, tear_seed: Option<u64>) -> MemFs {
        MemFs {
            state: Rc::new(RefCell::new(crash_state(
                &self.state.borrow(),
                tear_seed,
                DirCrash::Coin,
            ))),
        }
    }

    /// Power loss where every unsynced rename and removal reached the disk
    /// but no unsynced creation did (file contents as with `crash(None)`).
    pub fn crash_keeping_renames(&self) -> MemFs {
        MemFs {
            state: Rc::new(RefCell::new(crash_state(
                &self.state.borrow(),
                None,
                DirCrash::KeepRenames,
            ))),
        }
    }

    /// Flips the byte at `offset` of `name` (current and durable content).
    pub fn corrupt(&self, name: &str, offset: usize) -> bool {
        let mut state = self.state.borrow_mut();
        let Some(&ino) = state.dir_current.get(name) else {
            return false;
        };
        let Some(inode) = state.inodes.get_mut(&ino) else {
            return false;
        };
        if offset >= inode.current.len() {
            return false;
        }
        inode.current[offset] ^= 0x5A;
        if offset < inode.durable.len() {
            inode.durable[offset] ^= 0x5A;
        }
        true
    }

    /// Creates a file with `bytes` as durable content (for foreign-file tests).
    pub fn put_durable(&self, name: &str, bytes: &[u8]) {
        let mut state = self.state.borrow_mut();
        state.next_inode += 1;
        let ino = state.next_inode;
        state.inodes.insert(
            ino,
            Inode {
                durable: bytes.to_vec(),
                current: bytes.to_vec(),
                unsynced: Vec::new(),
            },
        );
        state.dir_current.insert(name.to_string(), ino);
        state.dir_durable.insert(name.to_string(), ino);
    }

    /// Current content of `name` (tests inspect files with it).
    pub fn contents(&self, name: &str) -> Option<Vec<u8>> {
        let state = self.state.borrow();
        let ino = state.dir_current.get(name)?;
        state.inodes.get(ino).map(|i| i.current.clone())
    }

    /// Names currently in the directory.
    pub fn names(&self) -> Vec<String> {
        self.state.borrow().dir_current.keys().cloned().collect()
    }

    fn not_found(name: &str) -> io::Error {
        io::Error::new(io::ErrorKind::NotFound, format!("{name}: no such file"))
    }
}

impl Fs for MemFs {
    type File = MemFile;

    async fn create(&self, name: &str) -> io::Result<MemFile> {
        let mut state = self.state.borrow_mut();
        state.mutating_op()?;
        state.next_inode += 1;
        let ino = state.next_inode;
        state.inodes.insert(ino, Inode::default());
        state.dir_current.insert(name.to_string(), ino);
        state.dir_pending.push(DirOp::Create {
            name: name.to_string(),
            ino,
        });
        Ok(MemFile {
            state: self.state.clone(),
            inode: ino,
        })
    }

    async fn open(&self, name: &str) -> io::Result<MemFile> {
        let state = self.state.borrow();
        let ino = *state
            .dir_current
            .get(name)
            .ok_or_else(|| MemFs::not_found(name))?;
        Ok(MemFile {
            state: self.state.clone(),
            inode: ino,
        })
    }

    async fn list(&self) -> io::Result<Vec<String>> {
        Ok(self.names())
    }

    async fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        let mut state = self.state.borrow_mut();
        state.mutating_op()?;
        let ino = state
            .dir_current
            .remove(from)
            .ok_or_else(|| MemFs::not_found(from))?;
        state.dir_current.insert(to.to_string(), ino);
        state.dir_pending.push(DirOp::Rename {
            from: from.to_string(),
            to: to.to_string(),
            ino,
        });
        Ok(())
    }

    async fn remove(&self, name: &str) -> io::Result<()> {
        let mut state = self.state.borrow_mut();
        state.mutating_op()?;
        state
            .dir_current
            .remove(name)
            .ok_or_else(|| MemFs::not_found(name))?;
        state.dir_pending.push(DirOp::Remove {
            name: name.to_string(),
        });
        Ok(())
    }

    async fn sync_dir(&self) -> io::Result<()> {
        let mut state = self.state.borrow_mut();
        state.mutating_op()?;
        state.dir_durable = state.dir_current.clone();
        state.dir_pending.clear();
        Ok(())
    }

    async fn create_dir(&self, name: &str) -> io::Result<()> {
        let mut state = self.state.borrow_mut();
        if state.dir_current.contains_key(name) {
            return Ok(());
        }
        state.mutating_op()?;
        state.next_inode += 1;
        let ino = state.next_inode;
        state.children.insert(ino, Rc::default());
        state.dir_current.insert(name.to_string(), ino);
        state.dir_pending.push(DirOp::Create {
            name: name.to_string(),
            ino,
        });
        Ok(())
    }

    fn subdir(&self, name: &str) -> io::Result<MemFs> {
        let state = self.state.borrow();
        let child = state
            .dir_current
            .get(name)
            .and_then(|ino| state.children.get(ino))
            .ok_or_else(|| MemFs::not_found(name))?;
        Ok(MemFs {
            state: child.clone(),
        })
    }
}

impl FsFile for MemFile {
    async fn write_at(&self, buf: &[u8], pos: u64) -> io::Result<()> {
        assert_eq!(
            pos % BLOCK_BYTES as u64,
            0,
            "unaligned write position {pos}"
        );
        assert_eq!(
            buf.len() % BLOCK_BYTES,
            0,
            "unaligned write length {}",
            buf.len()
        );
        let mut state = self.state.borrow_mut();
        state.mutating_op()?;
        state.bytes_written += buf.len() as u64;
        let inode = state.inodes.entry(self.inode).or_default();
        apply(&mut inode.current, pos as usize, buf);
        inode.unsynced.push((pos, buf.to_vec()));
        Ok(())
    }

    async fn read_at(&self, pos: u64, len: usize) -> io::Result<Vec<u8>> {
        let state = self.state.borrow();
        let Some(inode) = state.inodes.get(&self.inode) else {
            return Ok(Vec::new());
        };
        let start = (pos as usize).min(inode.current.len());
        let end = (start + len).min(inode.current.len());
        Ok(inode.current[start..end].to_vec())
    }

    async fn sync(&self) -> io::Result<()> {
        // A slow device: other tasks run while the sync is "in flight", so
        // tests see writes that are applied but not yet durable.
        let yields = self.state.borrow().sync_yields;
        for _ in 0..yields {
            futures_lite::future::yield_now().await;
        }
        let mut state = self.state.borrow_mut();
        state.mutating_op()?;
        let inode = state.inodes.entry(self.inode).or_default();
        inode.durable = inode.current.clone();
        inode.unsynced.clear();
        Ok(())
    }

    async fn size(&self) -> io::Result<u64> {
        let state = self.state.borrow();
        Ok(state
            .inodes
            .get(&self.inode)
            .map_or(0, |i| i.current.len() as u64))
    }

    async fn preallocate(&self, _len: u64) -> io::Result<()> {
        self.state.borrow_mut().mutating_op()
    }
}
