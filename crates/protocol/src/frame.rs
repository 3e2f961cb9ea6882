//! Size-prefixed Kafka frames: `i32 length` then `length` bytes.

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Kafka's default `socket.request.max.bytes` (100 MiB).
pub const DEFAULT_SOCKET_REQUEST_MAX_BYTES: usize = 100 * 1024 * 1024;
/// How much buffer is added per read: a frame's memory grows with the bytes that really
/// arrived, so a peer announcing 100 MiB and sending nothing costs nothing.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The announced size is negative or above the limit.
    #[error("frame size {size} is outside 0..={max} (socket.request.max.bytes)")]
    BadSize {
        /// Announced size.
        size: i64,
        /// The limit.
        max: usize,
    },
    /// The peer closed the connection in the middle of a frame.
    #[error("connection closed after {got} of {expected} bytes of a frame")]
    Truncated {
        /// Bytes received.
        got: usize,
        /// Bytes announced.
        expected: usize,
    },
    /// The socket failed.
    #[error("socket error while reading a frame: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads one frame. `Ok(None)` when the peer closed the connection between frames.
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    max_bytes: usize,
) -> Result<Option<Bytes>, FrameError> {
    let mut size_buf = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        let n = reader.read(&mut size_buf[got..]).await?;
        if n == 0 {
            return if got == 0 {
                Ok(None)
            } else {
                Err(FrameError::Truncated { got, expected: 4 })
            };
        }
        got += n;
    }
    let size = i32::from_be_bytes(size_buf);
    let size = match usize::try_from(size) {
        Ok(size) if size <= max_bytes => size,
        _ => {
            return Err(FrameError::BadSize {
                size: i64::from(size),
                max: max_bytes,
            })
        }
    };
    let mut frame = BytesMut::with_capacity(size.min(READ_CHUNK_BYTES));
    while frame.len() < size {
        let want = (size - frame.len()).min(READ_CHUNK_BYTES);
        frame.reserve(want);
        let n = (&mut *reader)
            .take(want as u64)
            .read_buf(&mut frame)
            .await?;
        if n == 0 {
            return Err(FrameError::Truncated {
                got: frame.len(),
                expected: size,
            });
        }
    }
    Ok(Some(frame.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_frames_and_rejects_bad_sizes() {
        let mut input: &[u8] = &[0, 0, 0, 3, b'a', b'b', b'c', 0, 0, 0, 5, b'x'];
        let frame = read_frame(&mut input, 10).await.unwrap().unwrap();
        assert_eq!(&frame[..], b"abc");
        assert!(matches!(
            read_frame(&mut input, 10).await,
            Err(FrameError::Truncated {
                got: 1,
                expected: 5
            })
        ));
        let mut too_big: &[u8] = &[0, 0, 0, 11];
        assert!(matches!(
            read_frame(&mut too_big, 10).await,
            Err(FrameError::BadSize { .. })
        ));
        let mut negative: &[u8] = &[0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            read_frame(&mut negative, 10).await,
            Err(FrameError::BadSize { .. })
        ));
        let mut empty: &[u8] = &[];
        assert!(read_frame(&mut empty, 10).await.unwrap().is_none());
    }
}
