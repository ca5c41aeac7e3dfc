//! Dumping an uncompressed snapshot's node records on two cores.
//!
//! A text dump of a snapshot needs two passes: `numChildren` is not stored, so children are
//! counted first. On a 1 M-node snapshot that first pass is bound by memory latency (each node's
//! lengths tell where the next one starts: one cache miss after another), the second by
//! checking (seals, digest) and rendering. Here a helper thread counts the children while the
//! reading thread checks the snapshot and queues where each node is; once the counts are known
//! the helper renders the queued nodes, in batches, into buffers that the reading thread writes
//! in order. The output is byte for byte the one-thread output: only node records go through
//! here, and every other record is written after the nodes before it ([`NodePipeline::flush`]).
//!
//! Memory in flight: 16 bytes per queued node (at most [`QUEUED`] batches) and at most
//! [`RENDERED`] rendered batches waiting to be written.

use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::thread::Scope;

use zkformat::snapshot::{decode_item, ItemKind, SnapshotItem};
use zkformat::Limits;

use super::path_hash;
use super::records::count_children;
use super::render::{AclCache, Ctx, NodeView, Render};

/// Nodes in one batch.
const BATCH: usize = 4096;
/// Batches queued for rendering: 4 M nodes, 64 MiB of node places at most, so the reading
/// thread goes on while the children are counted.
pub const QUEUED: usize = 1024;
/// Rendered batches waiting to be written.
pub const RENDERED: usize = 4;

/// What the reading thread hands to the rendering thread.
enum Work {
    /// The snapshot's ACL cache, complete (node records come after it).
    Acls(AclCache),
    /// Node records to render: offset and length in the snapshot.
    Nodes(Vec<(u64, u32)>),
}

/// The reading thread's end of the pipeline.
pub struct NodePipeline {
    batch: Vec<(u64, u32)>,
    to_render: Option<SyncSender<Work>>,
    rendered: Receiver<io::Result<Vec<Vec<u8>>>>,
    in_flight: usize,
    acls_sent: bool,
}

impl NodePipeline {
    /// Starts the helper thread in `scope` over the uncompressed snapshot `bytes`: it counts
    /// children, then renders nodes like `renderer`.
    pub fn start<'scope>(
        scope: &'scope Scope<'scope, '_>,
        renderer: Box<dyn Render + Send + Sync>,
        cx: &'scope Ctx<'scope>,
        bytes: &'scope [u8],
    ) -> NodePipeline {
        let limits = cx.opts.limits;
        let (to_render, work) = sync_channel::<Work>(QUEUED);
        let (done, rendered) = sync_channel(RENDERED);
        scope.spawn(move || {
            let children = count_children(bytes, limits);
            let mut acls = AclCache::default();
            for w in work {
                let batch = match w {
                    Work::Acls(a) => {
                        acls = a;
                        continue;
                    }
                    Work::Nodes(b) => b,
                };
                let result = render_batch(
                    &batch,
                    renderer.as_ref(),
                    cx,
                    bytes,
                    limits,
                    &acls,
                    &children,
                );
                if done.send(result).is_err() {
                    // The reading thread stopped (an output error): nothing more to render.
                    return;
                }
            }
        });
        NodePipeline {
            batch: Vec::with_capacity(BATCH),
            to_render: Some(to_render),
            rendered,
            in_flight: 0,
            acls_sent: false,
        }
    }

    /// Queues the node record at `offset` (`len` bytes); writes rendered batches that are
    /// ready. `acls` is the snapshot's ACL cache (complete once nodes come).
    ///
    /// # Errors
    /// Output errors.
    pub fn push(
        &mut self,
        offset: u64,
        len: usize,
        acls: &AclCache,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        if !self.acls_sent {
            self.acls_sent = true;
            self.send(Work::Acls(acls.clone()), out)?;
        }
        self.batch
            .push((offset, u32::try_from(len).unwrap_or(u32::MAX)));
        if self.batch.len() == BATCH {
            let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
            self.send(Work::Nodes(batch), out)?;
            self.in_flight += 1;
            self.write_ready(out)?;
        }
        Ok(())
    }

    /// Writes every queued node: call before writing any other record.
    ///
    /// # Errors
    /// Output errors.
    pub fn flush(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if !self.batch.is_empty() {
            let batch = std::mem::take(&mut self.batch);
            self.send(Work::Nodes(batch), out)?;
            self.in_flight += 1;
        }
        while self.in_flight > 0 {
            let buf = self.rendered.recv().map_err(|_| stopped())??;
            self.in_flight -= 1;
            write_pieces(out, &buf)?;
        }
        Ok(())
    }

    /// Hands work over; while the queue is full, writes rendered batches (the helper may be
    /// waiting for room to hand one back).
    fn send(&mut self, mut w: Work, out: &mut dyn Write) -> io::Result<()> {
        loop {
            let Some(t) = &self.to_render else {
                return Err(stopped());
            };
            match t.try_send(w) {
                Ok(()) => return Ok(()),
                // Full means batches are in flight (the queue holds more than the ACL cache).
                Err(TrySendError::Full(back)) => {
                    w = back;
                    let buf = self.rendered.recv().map_err(|_| stopped())??;
                    self.in_flight -= 1;
                    write_pieces(out, &buf)?;
                }
                Err(TrySendError::Disconnected(_)) => return Err(stopped()),
            }
        }
    }

    /// Writes the rendered batches that are ready, without waiting.
    fn write_ready(&mut self, out: &mut dyn Write) -> io::Result<()> {
        while self.in_flight > 0 {
            match self.rendered.try_recv() {
                Ok(buf) => {
                    self.in_flight -= 1;
                    write_pieces(out, &buf?)?;
                }
                Err(TryRecvError::Empty) => return Ok(()),
                Err(TryRecvError::Disconnected) => return Err(stopped()),
            }
        }
        Ok(())
    }
}

impl Drop for NodePipeline {
    fn drop(&mut self) {
        // Ends the helper's loop (the scope joins it).
        self.to_render = None;
    }
}

fn write_pieces(out: &mut dyn Write, pieces: &[Vec<u8>]) -> io::Result<()> {
    pieces.iter().try_for_each(|p| out.write_all(p))
}

fn stopped() -> io::Error {
    io::Error::other("the node rendering thread stopped")
}

/// Renders a batch of node records into buffers, in parallel pieces (the reading thread has
/// little left to do once the children are counted).
fn render_batch(
    batch: &[(u64, u32)],
    renderer: &(dyn Render + Send + Sync),
    cx: &Ctx<'_>,
    bytes: &[u8],
    limits: Limits,
    acls: &AclCache,
    children: &foldhash::HashMap<u64, u32>,
) -> io::Result<Vec<Vec<u8>>> {
    use rayon::prelude::*;
    batch
        .par_chunks(PIECE)
        .map(|piece| {
            let mut r = renderer.for_another_thread();
            let mut buf = Vec::with_capacity(piece.len() * 400);
            for &(offset, len) in piece {
                render_node(
                    &mut buf,
                    r.as_mut(),
                    cx,
                    bytes,
                    limits,
                    acls,
                    children,
                    offset,
                    len,
                )?;
            }
            Ok(buf)
        })
        .collect()
}

/// Nodes rendered by one task.
const PIECE: usize = 1024;

/// Decodes the node record at `offset` again and renders it.
#[allow(clippy::too_many_arguments)]
fn render_node(
    buf: &mut Vec<u8>,
    renderer: &mut dyn Render,
    cx: &Ctx<'_>,
    bytes: &[u8],
    limits: Limits,
    acls: &AclCache,
    children: &foldhash::HashMap<u64, u32>,
    offset: u64,
    len: u32,
) -> io::Result<()> {
    // Each place was framed and decoded by the reading thread's parser: decoding again
    // cannot fail, and a failure is reported rather than hidden.
    let raw = usize::try_from(offset)
        .ok()
        .and_then(|o| bytes.get(o..o.checked_add(len as usize)?));
    let node = match raw.map(|r| decode_item(ItemKind::Node, r, offset, limits)) {
        Some(Ok(zkformat::snapshot::Item {
            value: SnapshotItem::Node(n),
            ..
        })) => n,
        _ => {
            return Err(io::Error::other(format!(
                "internal: the node record at offset {offset} did not decode a second time"
            )))
        }
    };
    renderer.node(
        buf,
        cx,
        &NodeView {
            node: &node,
            offset,
            num_children: children.get(&path_hash(node.path)).copied().unwrap_or(0),
            acl: acls.get(node.acl_key),
        },
    )
}
