//! The WebSocket wire format, as little of it as the benchmark needs: the load generator's
//! side (decoding the server's frames in place, encoding masked client frames) and the
//! floor server's (`crate::floor`: unmasking client frames in place, encoding unmasked ones).
//!
//! Written by hand on purpose. The load generator must cost less CPU than the server it
//! measures; with tungstenite each received message is copied into its own buffer,
//! UTF-8-checked and passed through a `Stream`, which made 1 000 receivers cost as much as
//! the server. Here one `read` brings many frames and each payload is only looked at where
//! it lies. Only what servers send is handled: unmasked frames, text, binary, ping, close,
//! and fragments (reassembled).

use thiserror::Error;

/// Frame kinds this client tells apart (RFC 6455 opcodes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    /// A continuation of a fragmented message.
    Continuation,
    /// UTF-8 text.
    Text,
    /// Bytes.
    Binary,
    /// Close.
    Close,
    /// Ping (answered with a pong carrying the same payload).
    Ping,
    /// Pong.
    Pong,
}

impl Opcode {
    fn from_bits(bits: u8) -> Option<Self> {
        Some(match bits {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            Self::Continuation => 0x0,
            Self::Text => 0x1,
            Self::Binary => 0x2,
            Self::Close => 0x8,
            Self::Ping => 0x9,
            Self::Pong => 0xA,
        }
    }
}

/// What a server may send that this client refuses.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WireError {
    /// An opcode RFC 6455 reserves.
    #[error("reserved opcode {0:#x}")]
    ReservedOpcode(u8),
    /// A server frame with the mask bit set (RFC 6455 §5.1 forbids it).
    #[error("the server masked a frame")]
    MaskedByServer,
    /// A frame larger than this client accepts.
    #[error("a frame of {0} bytes is larger than the limit")]
    TooLarge(u64),
}

/// The largest frame accepted: chat frames are tiny, a replay page is a few hundred KB.
pub const MAX_FRAME: u64 = 16 * 1024 * 1024;

/// One decoded frame header: its kind, whether it ends a message, and where its payload
/// lies in the buffer it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The kind.
    pub opcode: Opcode,
    /// Whether this frame ends its message.
    pub fin: bool,
    /// Header length: the payload starts here.
    pub payload_start: usize,
    /// Payload length.
    pub payload_len: usize,
}

impl Header {
    /// Bytes the whole frame takes.
    pub fn frame_len(&self) -> usize {
        self.payload_start + self.payload_len
    }
}

/// Decodes the frame header at the start of `buf`: `Ok(None)` when the frame is not
/// complete yet (read more), otherwise the header of a frame that `buf` holds entirely.
pub fn decode(buf: &[u8]) -> Result<Option<Header>, WireError> {
    let [first, second, ..] = *buf else { return Ok(None) };
    let opcode = Opcode::from_bits(first & 0x0F).ok_or(WireError::ReservedOpcode(first & 0x0F))?;
    if second & 0x80 != 0 {
        return Err(WireError::MaskedByServer);
    }
    let Some((len, start)) = payload_length(buf, second) else { return Ok(None) };
    if len > MAX_FRAME {
        return Err(WireError::TooLarge(len));
    }
    let header = Header { opcode, fin: first & 0x80 != 0, payload_start: start, payload_len: len as usize };
    Ok((buf.len() >= header.frame_len()).then_some(header))
}

/// A frame's payload length and where the bytes after it start (RFC 6455 §5.2), from its
/// second byte and the extended length that follows; `None` while `buf` does not hold it yet.
fn payload_length(buf: &[u8], second: u8) -> Option<(u64, usize)> {
    match second & 0x7F {
        126 => buf.get(2..4).map(|b| (u64::from(u16::from_be_bytes([b[0], b[1]])), 4)),
        127 => buf.get(2..10).map(|b| (u64::from_be_bytes(b.try_into().expect("8 bytes")), 10)),
        short => Some((u64::from(short), 2)),
    }
}

/// Appends one complete client frame (masked with `mask`, as RFC 6455 requires of
/// clients) carrying `payload` to `out`.
pub fn encode(out: &mut Vec<u8>, opcode: Opcode, payload: &[u8], mask: [u8; 4]) {
    out.push(0x80 | opcode.bits());
    push_length(out, 0x80, payload.len());
    out.extend_from_slice(&mask);
    out.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
}

/// One client frame at the start of `buf`, unmasked in place: `Ok(None)` when it is not
/// complete yet (read more), otherwise its header (the payload lies unmasked at
/// `payload_start..frame_len()`). RFC 6455 §5.1: a server must refuse an unmasked client
/// frame.
pub fn decode_masked(buf: &mut [u8]) -> Result<Option<Header>, ClientFrameError> {
    let [first, second, ..] = *buf else { return Ok(None) };
    let opcode =
        Opcode::from_bits(first & 0x0F).ok_or(ClientFrameError::Wire(WireError::ReservedOpcode(first & 0x0F)))?;
    if second & 0x80 == 0 {
        return Err(ClientFrameError::Unmasked);
    }
    let Some((len, mask_at)) = payload_length(buf, second) else { return Ok(None) };
    if len > MAX_FRAME {
        return Err(ClientFrameError::Wire(WireError::TooLarge(len)));
    }
    let header = Header { opcode, fin: first & 0x80 != 0, payload_start: mask_at + 4, payload_len: len as usize };
    if buf.len() < header.frame_len() {
        return Ok(None);
    }
    let mask: [u8; 4] = buf[mask_at..mask_at + 4].try_into().expect("4 bytes");
    for (b, m) in buf[header.payload_start..header.frame_len()].iter_mut().zip(mask.iter().cycle()) {
        *b ^= m;
    }
    Ok(Some(header))
}

/// What a client may send that the floor server refuses.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ClientFrameError {
    /// What no peer may send.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// A client frame without a mask (RFC 6455 §5.1 forbids it).
    #[error("the client did not mask a frame")]
    Unmasked,
}

/// Appends a frame's second byte (`mask_bit` and the 7-bit length) and its extended payload
/// length, if any (RFC 6455 §5.2).
fn push_length(out: &mut Vec<u8>, mask_bit: u8, len: usize) {
    match len {
        n if n < 126 => out.push(mask_bit | n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
}

/// Appends one complete, unmasked server frame carrying `payload` to `out`.
pub fn encode_unmasked(out: &mut Vec<u8>, opcode: Opcode, payload: &[u8]) {
    out.push(0x80 | opcode.bits());
    push_length(out, 0, payload.len());
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server frame (unmasked).
    fn server_frame(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        push_length(&mut out, 0, payload.len());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn decodes_each_length_form_and_waits_for_the_rest() {
        for size in [0, 5, 125, 126, 300, 65_535, 65_536, 70_000] {
            let payload = vec![b'x'; size];
            let frame = server_frame(0x1, true, &payload);
            let header = decode(&frame).unwrap().expect("complete");
            assert_eq!((header.opcode, header.fin, header.payload_len), (Opcode::Text, true, size));
            assert_eq!(&frame[header.payload_start..header.frame_len()], &payload[..]);
            assert_eq!(header.frame_len(), frame.len());
            // Every shorter prefix asks for more.
            for cut in [0, 1, header.payload_start.saturating_sub(1), frame.len() - 1] {
                if cut < frame.len() {
                    assert_eq!(decode(&frame[..cut]), Ok(None), "size {size}, cut {cut}");
                }
            }
        }
    }

    #[test]
    fn walks_several_frames_in_one_buffer() {
        let mut buf = server_frame(0x1, true, b"42[\"chat message\",\"t1\"]");
        buf.extend(server_frame(0x9, true, b"hi"));
        buf.extend(server_frame(0x1, false, b"par"));
        buf.extend(server_frame(0x0, true, b"t"));
        let mut seen = Vec::new();
        let mut at = 0;
        while let Some(h) = decode(&buf[at..]).unwrap() {
            seen.push((h.opcode, h.fin, buf[at + h.payload_start..at + h.frame_len()].to_vec()));
            at += h.frame_len();
        }
        assert_eq!(at, buf.len());
        assert_eq!(
            seen,
            vec![
                (Opcode::Text, true, b"42[\"chat message\",\"t1\"]".to_vec()),
                (Opcode::Ping, true, b"hi".to_vec()),
                (Opcode::Text, false, b"par".to_vec()),
                (Opcode::Continuation, true, b"t".to_vec()),
            ]
        );
    }

    #[test]
    fn refuses_what_a_server_must_not_send() {
        assert_eq!(decode(&[0x83, 0]), Err(WireError::ReservedOpcode(3)));
        assert_eq!(decode(&[0x81, 0x81, 1, 2, 3, 4, 5]), Err(WireError::MaskedByServer));
        let mut huge = vec![0x82, 127];
        huge.extend_from_slice(&(MAX_FRAME + 1).to_be_bytes());
        assert_eq!(decode(&huge), Err(WireError::TooLarge(MAX_FRAME + 1)));
    }

    #[test]
    fn the_floor_server_reads_what_the_client_writes_and_the_client_what_it_writes() {
        for size in [0, 3, 125, 126, 65_535, 65_536] {
            let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let mut masked = Vec::new();
            encode(&mut masked, Opcode::Text, &payload, [9, 8, 7, 6]);
            masked.extend_from_slice(b"next");
            let header = decode_masked(&mut masked).unwrap().expect("complete");
            assert_eq!((header.opcode, header.fin), (Opcode::Text, true));
            assert_eq!(&masked[header.payload_start..header.frame_len()], &payload[..], "size {size}");
            let mut cut = masked[..header.frame_len() - 1].to_vec();
            assert_eq!(decode_masked(&mut cut), Ok(None), "size {size}");
            let mut plain = Vec::new();
            encode_unmasked(&mut plain, Opcode::Text, &payload);
            assert_eq!(decode(&plain), Ok(Some(Header { payload_start: plain.len() - size, ..header })));
        }
        assert_eq!(decode_masked(&mut [0x81, 0x01, b'x']), Err(ClientFrameError::Unmasked));
    }

    #[test]
    fn encodes_masked_frames_a_server_can_unmask() {
        for size in [0, 3, 125, 126, 65_535, 65_536] {
            let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let mask = [0x12, 0x34, 0x56, 0x78];
            let mut out = Vec::new();
            encode(&mut out, Opcode::Text, &payload, mask);
            assert_eq!(out[0], 0x81);
            assert_ne!(out[1] & 0x80, 0, "clients must mask");
            let (len, start) = match out[1] & 0x7F {
                126 => (u16::from_be_bytes([out[2], out[3]]) as usize, 4),
                127 => (u64::from_be_bytes(out[2..10].try_into().unwrap()) as usize, 10),
                n => (n as usize, 2),
            };
            assert_eq!(len, size);
            assert_eq!(&out[start..start + 4], &mask);
            let unmasked: Vec<u8> = out[start + 4..].iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m).collect();
            assert_eq!(unmasked, payload);
        }
    }
}
