//! The wire format: one frame per message (see the module doc of
//! [`crate::net::tcp`] for the layout). Encoding refuses a frame over the
//! size limit; decoding reports every malformed frame as a [`FrameError`],
//! never a panic, and allocates at most the size limit for one frame.

use crate::raft::RaftMessage;
use raftcheck_core::NodeId;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::{self, Read};

/// The version byte of every frame this build writes and the only one it
/// reads.
pub const WIRE_VERSION: u8 = 1;

/// The default limit on a frame's length (the version byte and the
/// message): 64 MiB, far above any heartbeat or vote, room for a large
/// snapshot.
pub const DEFAULT_MAX_FRAME_LEN: usize = 64 << 20;

/// Why a frame was not written or not read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The length field is over the limit (or, writing, the message is).
    #[error("a frame of {len} bytes is over the limit of {max}")]
    TooLong { len: u64, max: usize },
    /// The length field is zero: not even the version byte follows.
    #[error("an empty frame (no version byte)")]
    Empty,
    /// The version byte is not [`WIRE_VERSION`].
    #[error("wire version {0}, this build reads only version {WIRE_VERSION}")]
    Version(u8),
    /// The body is not the postcard encoding of what the frame carries
    /// (`(NodeId, RaftMessage)` between nodes), or has bytes after it.
    #[error("the frame does not decode: {0}")]
    Decode(String),
    /// The message could not be encoded (writing).
    #[error("the message does not encode: {0}")]
    Encode(String),
    /// The stream ended inside a frame.
    #[error("the connection closed inside a frame")]
    Truncated,
    /// The stream failed.
    #[error(transparent)]
    Io(io::Error),
}

/// The whole frame carrying `message` from node `from`: length, version,
/// body. Refused (nothing is written) if its length would be over `max_len`.
pub fn encode_frame(from: NodeId, message: &RaftMessage, max_len: usize) -> Result<Vec<u8>, FrameError> {
    encode_value(&(from, message), max_len)
}

/// Reads the next frame from `reader`. `Ok(None)` when the stream ends
/// cleanly between two frames; an error for anything else that is not one
/// whole, valid frame of at most `max_len` bytes. After an error the stream
/// is out of step and must be closed.
pub fn read_frame(reader: &mut impl Read, max_len: usize) -> Result<Option<(NodeId, RaftMessage)>, FrameError> {
    read_value(reader, max_len)
}

/// The whole frame carrying any `value` (the framing of this module with
/// another body: the key/value clients' requests and replies use it).
pub fn encode_value(value: &impl Serialize, max_len: usize) -> Result<Vec<u8>, FrameError> {
    // Room for the length field and the version byte, then the body.
    let mut frame = vec![0u8; 5];
    frame[4] = WIRE_VERSION;
    let mut frame = postcard::to_extend(value, frame).map_err(|e| FrameError::Encode(e.to_string()))?;
    let len = frame.len() - 4;
    if len > max_len || u32::try_from(len).is_err() {
        return Err(FrameError::TooLong { len: len as u64, max: max_len });
    }
    frame[..4].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(frame)
}

/// Reads the next frame carrying a `T` (see [`read_frame`]).
pub fn read_value<T: DeserializeOwned>(reader: &mut impl Read, max_len: usize) -> Result<Option<T>, FrameError> {
    let mut header = [0u8; 4];
    let mut got = 0;
    while got < header.len() {
        match reader.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(FrameError::Truncated),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    let len = u32::from_le_bytes(header) as usize;
    if len > max_len {
        return Err(FrameError::TooLong { len: len as u64, max: max_len });
    }
    if len == 0 {
        return Err(FrameError::Empty);
    }
    let mut version = [0u8; 1];
    read_exactly(reader, &mut version)?;
    if version[0] != WIRE_VERSION {
        return Err(FrameError::Version(version[0]));
    }
    let mut body = vec![0u8; len - 1];
    read_exactly(reader, &mut body)?;
    let (decoded, rest) = postcard::take_from_bytes::<T>(&body).map_err(|e| FrameError::Decode(e.to_string()))?;
    if !rest.is_empty() {
        return Err(FrameError::Decode(format!("{} bytes after the message", rest.len())));
    }
    Ok(Some(decoded))
}

fn read_exactly(reader: &mut impl Read, buffer: &mut [u8]) -> Result<(), FrameError> {
    reader.read_exact(buffer).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => FrameError::Truncated,
        _ => FrameError::Io(e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use raftcheck_core::{
        AppendEntries, AppendEntriesReply, Entry, InstallSnapshot, InstallSnapshotReply, Message, RequestVote,
        RequestVoteReply,
    };
    use std::io::Cursor;

    fn every_kind() -> Vec<RaftMessage> {
        vec![
            Message::RequestVote(RequestVote { term: 3, last_log_index: 7, last_log_term: 2 }),
            Message::RequestVoteReply(RequestVoteReply { term: 3, vote_granted: true }),
            Message::AppendEntries(AppendEntries {
                term: 4,
                prev_log_index: 1,
                prev_log_term: 1,
                entries: vec![Entry { term: 4, command: b"x".to_vec() }, Entry { term: 4, command: vec![0; 5000] }],
                leader_commit: 1,
            }),
            Message::AppendEntriesReply(AppendEntriesReply {
                term: 4,
                success: false,
                match_index: 0,
                conflict_term: Some(2),
                conflict_index: 3,
            }),
            Message::InstallSnapshot(InstallSnapshot {
                term: 5,
                last_included_index: 9,
                last_included_term: 4,
                data: b"state".to_vec(),
            }),
            Message::InstallSnapshotReply(InstallSnapshotReply { term: 5, last_included_index: 9, accepted: true }),
        ]
    }

    #[test]
    fn every_kind_of_message_round_trips_and_the_stream_ends_cleanly() {
        let mut stream = Vec::new();
        for (k, message) in every_kind().iter().enumerate() {
            stream.extend(encode_frame(k, message, DEFAULT_MAX_FRAME_LEN).unwrap());
        }
        let mut reader = Cursor::new(stream);
        for (k, message) in every_kind().into_iter().enumerate() {
            assert_eq!(read_frame(&mut reader, DEFAULT_MAX_FRAME_LEN).unwrap(), Some((k, message)));
        }
        assert!(read_frame(&mut reader, DEFAULT_MAX_FRAME_LEN).unwrap().is_none(), "a clean end between frames");
    }

    #[test]
    fn the_layout_is_length_version_body() {
        let message = Message::RequestVoteReply(RequestVoteReply { term: 1, vote_granted: true });
        let frame = encode_frame(2, &message, DEFAULT_MAX_FRAME_LEN).unwrap();
        let body = postcard::to_stdvec(&(2usize, &message)).unwrap();
        assert_eq!(frame[..4], ((body.len() + 1) as u32).to_le_bytes());
        assert_eq!(frame[4], WIRE_VERSION);
        assert_eq!(frame[5..], body[..]);
    }

    #[test]
    fn a_message_over_the_limit_is_not_encoded() {
        let message = Message::InstallSnapshot(InstallSnapshot {
            term: 1,
            last_included_index: 1,
            last_included_term: 1,
            data: vec![7; 1000],
        });
        assert!(matches!(encode_frame(0, &message, 100), Err(FrameError::TooLong { max: 100, .. })));
    }

    fn read(bytes: &[u8]) -> Result<Option<(NodeId, RaftMessage)>, FrameError> {
        read_frame(&mut Cursor::new(bytes.to_vec()), 1024)
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        let good = encode_frame(1, &every_kind()[0], 1024).unwrap();
        // A length over the limit: refused before anything is allocated.
        assert!(matches!(read(&u32::MAX.to_le_bytes()), Err(FrameError::TooLong { .. })));
        assert!(matches!(read(&0u32.to_le_bytes()), Err(FrameError::Empty)));
        let mut other_version = good.clone();
        other_version[4] = 2;
        assert!(matches!(read(&other_version), Err(FrameError::Version(2))));
        let mut garbage = vec![6, 0, 0, 0, WIRE_VERSION];
        garbage.extend([0xff; 5]);
        assert!(matches!(read(&garbage), Err(FrameError::Decode(_))));
        let mut trailing = good.clone();
        trailing[0] += 1;
        trailing.push(0);
        assert!(matches!(read(&trailing), Err(FrameError::Decode(_))));
        for cut in 1..good.len() {
            assert!(matches!(read(&good[..cut]), Err(FrameError::Truncated)), "cut at {cut}");
        }
    }
}
