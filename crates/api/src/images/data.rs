//! Image data: `PUT|GET /v2/images/{id}/file` and `PUT /v2/images/{id}/stage`. Bodies stream
//! chunk by chunk in both directions; memory stays flat whatever the image size.

use crate::routes::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use futures_util::StreamExt;
use hybridstack_core::images::Upload;
use hybridstack_core::CoreError;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{path, GlanceError};
use crate::auth::Call;
use crate::AppState;

fn require_octet_stream(headers: &HeaderMap) -> Result<(), GlanceError> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/octet-stream");
    if ct.split(';').next().map(str::trim) != Some("application/octet-stream") {
        return Err(GlanceError(CoreError::UnsupportedMediaType(format!(
            "Image data must be sent as application/octet-stream, not {ct:?}."
        ))));
    }
    Ok(())
}

/// Feeds the request body into the upload. An error or a cut connection drops `up`, which
/// removes the partial file and returns the image to `queued`.
async fn receive(up: &mut Upload, body: Body) -> Result<(), GlanceError> {
    let session = up.session.as_mut().ok_or_else(|| CoreError::Internal("upload has no session".into()))?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| CoreError::BadRequest(format!("The image data was cut short: {e}")))?;
        session.write(&chunk).await?;
    }
    Ok(())
}

/// `PUT …/file` (`STAGE` false: the image goes active) or `PUT …/stage` (`STAGE` true: the
/// bytes wait for an import): the one difference is where the upload begins and ends.
async fn receive_data<const STAGE: bool>(
    Call(state, ctx): Call,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, GlanceError> {
    require_octet_stream(&headers)?;
    let images = &state.images;
    let mut up = if STAGE { images.begin_stage(&ctx, &id).await? } else { images.begin_upload(&ctx, &id).await? };
    if let Err(e) = receive(&mut up, body).await {
        images.abort(up).await;
        return Err(e);
    }
    if STAGE {
        images.finish_stage(up).await?;
    } else {
        images.finish_upload(up).await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` against a file of `len` bytes; `None` if unsatisfiable.
fn parse_range(v: &str, len: u64) -> Option<(u64, u64)> {
    let spec = v.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (len.checked_sub(n.min(len))?, len.checked_sub(1)?)
        }
        (a, "") => (a.parse().ok()?, len.checked_sub(1)?),
        (a, b) => (a.parse().ok()?, b.parse::<u64>().ok()?.min(len.checked_sub(1)?)),
    };
    (start <= end && start < len).then_some((start, end))
}

async fn download(Call(state, ctx): Call, Path(id): Path<String>, headers: HeaderMap) -> Result<Response, GlanceError> {
    let (image, file) = state.images.data(&ctx, &id).await?;
    let Some(file) = file else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let io = |e: std::io::Error| GlanceError(CoreError::Internal(format!("reading image data: {e}")));
    let mut f = tokio::fs::File::open(&file).await.map_err(io)?;
    let len = f.metadata().await.map_err(io)?.len();
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, end) = match range {
        None => (StatusCode::OK, 0, len.saturating_sub(1)),
        Some(r) => match parse_range(r, len) {
            Some((a, b)) => (StatusCode::PARTIAL_CONTENT, a, b),
            None => {
                let mut resp = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                    resp.headers_mut().insert(header::CONTENT_RANGE, v);
                }
                return Ok(resp);
            }
        },
    };
    let count = if len == 0 { 0 } else { end - start + 1 };
    f.seek(std::io::SeekFrom::Start(start)).await.map_err(io)?;
    let stream = tokio_util::io::ReaderStream::with_capacity(f.take(count), 256 * 1024);
    let mut resp = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .header(header::CONTENT_LENGTH, count);
    if status == StatusCode::PARTIAL_CONTENT {
        resp = resp.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"));
    } else if let Some(md5) = &image.checksum {
        resp = resp.header("content-md5", md5.as_str());
    }
    resp.body(Body::from_stream(stream)).map_err(|e| GlanceError(CoreError::Internal(e.to_string())))
}

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(&path("/images/{id}/file"), get(download).put(receive_data::<false>))
        .route(&path("/images/{id}/stage"), put(receive_data::<true>))
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_parse_like_http_says() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=5-1", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
        assert_eq!(parse_range("bytes=0-1,3-4", 100), None);
    }
}
