//! The monitors' HTTP side: the devices' ingest API (JSON readings and P1 telegrams), the live
//! stream (Server-Sent Events, resumable by `Last-Event-ID`) and the CSV export.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use app::api::ssr::account_in;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use backend::monitors::{self, DeviceRefusal};
use backend::readings::{MAX_BODY_BYTES, MAX_READINGS_PER_REQUEST, Rejection};
use backend::{Error, Services};
use model::Account;
use model::monitor::{HistoryView, LIVE_WINDOW_MS, LivePoint};
use serde::Deserialize;
use tokio::sync::broadcast;
use tower_sessions::Session;

use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/monitors/{id}/history.csv", get(history_csv))
}

/// The devices' ingest API: thousands of meters, one small request a second each. Kept apart
/// from the pages' session, tracing and compression layers (a device has no session, and its
/// answer is a few bytes); it has its own timeout. Its state is the services alone, behind one
/// `Arc`: a handler's state is cloned per request, and the whole `AppState` (two dozen `Arc`s,
/// the Leptos options' strings) cost 3 % of the server's CPU at 13,000 requests/s.
pub fn ingest_routes(timeout: Duration, services: Arc<Services>) -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/monitors/{id}/readings",
            post(|state, path, headers, body| ingest(state, path, headers, body, false)),
        )
        .route(
            "/api/v1/monitors/{id}/telegrams",
            post(|state, path, headers, body| ingest(state, path, headers, body, true)),
        )
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .with_state(services)
}

/// The live stream, kept apart from the router's tracing, compression and timeout layers: with
/// thousands of viewers every event passes through whatever wraps the body.
pub fn live_routes() -> Router<AppState> {
    Router::new().route("/api/v1/monitors/{id}/live", get(live))
}

fn json_error(status: StatusCode, rejection: &Rejection) -> Response {
    (status, axum::Json(rejection)).into_response()
}

pub(crate) fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    json_error(status, &Rejection::new(message))
}

/// An answer given before the request's body was read: the connection is closed after it, so
/// the unread body is never taken for the next request, and a client cannot keep the
/// connection busy sending what nobody reads.
fn closing(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// 429 with `Retry-After` (seconds) and what to do, in words.
pub(crate) fn too_many(message: impl Into<String>, retry_after_secs: u64) -> Response {
    let mut response = refuse(StatusCode::TOO_MANY_REQUESTS, message);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    response
}

pub(crate) fn internal(e: Error) -> Response {
    tracing::error!(error = %e, "monitor request failed");
    refuse(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server could not store or read data just now; retry",
    )
}

// The error is the early HTTP answer itself; boxing it would only add noise to the handlers.
#[allow(clippy::result_large_err)]
fn monitor_id(raw: &str) -> Result<i64, Response> {
    raw.parse::<i64>().map_err(|_| {
        refuse(
            StatusCode::NOT_FOUND,
            format!("no monitor {raw:?}: monitor ids are numbers"),
        )
    })
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn ingest(
    State(services): State<Arc<Services>>,
    Path(raw_id): Path<String>,
    headers: HeaderMap,
    body: Body,
    telegrams: bool,
) -> Response {
    let services = &*services;
    let id = match monitor_id(&raw_id) {
        Ok(id) => id,
        Err(response) => return response,
    };
    // Who is sending is decided before the body is read: an unauthenticated client cannot make
    // the server buffer 2 MiB.
    let device = match monitors::authorize(services, id, bearer(&headers)).await {
        Err(e) => return internal(e),
        Ok(Err(refusal)) => {
            let message = match refusal {
                DeviceRefusal::MissingToken => {
                    "missing device token: send Authorization: Bearer <token>".to_string()
                }
                // One answer for both, so monitor ids cannot be found by trying them.
                DeviceRefusal::UnknownMonitor | DeviceRefusal::WrongToken => format!(
                    "monitor {id} does not take this token (is the id right? was the token rotated?)"
                ),
            };
            let mut response = refuse(StatusCode::UNAUTHORIZED, message);
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return closing(response);
        }
        Ok(Ok(device)) => device,
    };
    if let Err(retry_after) = services.device_limit.check(&id) {
        return too_many(
            format!(
                "monitor {id} sends too often: wait {retry_after} s (a meter needs one request every second or few)"
            ),
            retry_after,
        );
    }
    let too_large = || {
        closing(refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body is over {} MiB: send at most {MAX_READINGS_PER_REQUEST} readings per request",
                MAX_BODY_BYTES / (1024 * 1024)
            ),
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return too_large();
    }
    let body =
        match http_body_util::BodyExt::collect(http_body_util::Limited::new(body, MAX_BODY_BYTES))
            .await
        {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
            Err(e) => {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    format!("the body could not be read: {e}"),
                );
            }
        };
    let readings = match monitors::decode(services, &device, telegrams, &body) {
        Ok(readings) => readings,
        Err(rejection) => {
            let status = if rejection.malformed {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            return json_error(status, &rejection);
        }
    };
    match monitors::ingest(services, &device, readings).await {
        Ok(outcome) => (StatusCode::OK, axum::Json(outcome)).into_response(),
        Err(e) => internal(e),
    }
}

/// The signed-in account of a browser request; 401 without one.
#[allow(clippy::result_large_err)]
pub(crate) async fn signed_in(state: &AppState, session: &Session) -> Result<Account, Response> {
    let account = account_in(&state.services, session).await.map_err(|e| {
        tracing::error!(error = ?e, "reading the session failed");
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server could not read your session; retry",
        )
    })?;
    account.ok_or_else(|| refuse(StatusCode::UNAUTHORIZED, "log in first"))
}

fn no_monitor(id: i64) -> Response {
    refuse(StatusCode::NOT_FOUND, format!("no monitor {id}"))
}

/// Who may read the monitor: a signed-in account that may work on its site.
#[allow(clippy::result_large_err)]
async fn viewer(
    state: &AppState,
    session: &Session,
    raw_id: &str,
) -> Result<(i64, Account), Response> {
    let id = monitor_id(raw_id)?;
    let actor = signed_in(state, session).await?;
    match monitors::get(&state.services, &actor, id).await {
        Ok(_) => Ok((id, actor)),
        Err(Error::NotFound | Error::Forbidden) => Err(no_monitor(id)),
        Err(e) => Err(internal(e)),
    }
}

#[derive(Deserialize)]
struct LiveQuery {
    /// The `seq` to continue after, for the first connection (reconnects send Last-Event-ID).
    after: Option<i64>,
}

/// Readings the stream sends from the database at most at once.
const CATCH_UP_LIMIT: i64 = 2000;

/// `GET /api/v1/monitors/{id}/live`: every new reading as an event whose id is its `seq`.
async fn live(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    session: Session,
    headers: HeaderMap,
    Query(query): Query<LiveQuery>,
) -> Response {
    let (id, actor) = match viewer(&state, &session, &raw_id).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let resume_from = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(query.after)
        .unwrap_or(0);
    // Subscribe before reading the backlog: a reading committed in between is in one or the
    // other (or both: `seq` filters the duplicate), never in neither.
    let receiver = state.services.hub.subscribe(id);
    let stream = LiveStream {
        services: state.services.clone(),
        monitor_id: id,
        receiver,
        pending: VecDeque::new(),
        last_sent: resume_from,
        needs_catch_up: true,
        keep_alive: Box::pin(tokio::time::sleep_until(crate::live_access::spread_over(
            KEEP_ALIVE_EVERY,
        ))),
        last_event: None,
    };
    tracing::debug!(monitor = id, after = resume_from, "live stream opened");
    let events = futures_util::stream::unfold(stream, |mut s| async move {
        let event = s.next().await?;
        Some((Ok::<_, Infallible>(event), s))
    });
    let slot = match state.streams.take(actor.id) {
        Ok(slot) => slot,
        Err(no) => return crate::live_access::refuse(no),
    };
    // The stream ends at shutdown, and when the viewer may no longer see the monitor (signed
    // out, an installer revoked, the site or monitor deleted).
    let lost = crate::live_access::lost(
        state.clone(),
        &session,
        &actor,
        move |services, account| async move {
            match monitors::get(&services, &account, id).await {
                Ok(_) => Ok(true),
                Err(Error::NotFound | Error::Forbidden) => Ok(false),
                Err(e) => Err(e),
            }
        },
    );
    let events = futures_util::StreamExt::take_until(
        events,
        Box::pin(crate::live_access::stream_end(&state, lost, slot)),
    );
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
            (HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(events),
    )
        .into_response()
}

/// A comment line that keeps idle connections (and proxies) from timing out.
const KEEP_ALIVE: &[u8] = b":\n\n";
const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(15);

/// One reading as a Server-Sent Event; its id is the reading's `seq`.
fn frame(point: &LivePoint) -> Bytes {
    let data = serde_json::to_string(point).unwrap_or_default();
    Bytes::from(format!("id: {}\ndata: {data}\n\n", point.seq))
}

/// When the keep-alive timer fires: `None` if the connection has been quiet for
/// `KEEP_ALIVE_EVERY` (or nothing was ever sent) and a keep-alive is due, else when it will be.
fn not_idle_until(
    last_event: Option<tokio::time::Instant>,
    now: tokio::time::Instant,
) -> Option<tokio::time::Instant> {
    last_event
        .map(|at| at + KEEP_ALIVE_EVERY)
        .filter(|&quiet_until| quiet_until > now)
}

/// The events of one viewer: readings after `last_sent`, from the database when catching up,
/// then as the hub publishes them.
struct LiveStream {
    services: Services,
    monitor_id: i64,
    receiver: broadcast::Receiver<backend::live::Points>,
    /// Readings to send, with their event when it was framed once for every viewer.
    pending: VecDeque<(LivePoint, Option<Bytes>)>,
    last_sent: i64,
    needs_catch_up: bool,
    /// One timer per stream, re-armed when it fires (not one per event): a keep-alive goes out
    /// only after `KEEP_ALIVE_EVERY` without an event.
    keep_alive: std::pin::Pin<Box<tokio::time::Sleep>>,
    /// When the last event (or keep-alive) went out; `None` before the first.
    last_event: Option<tokio::time::Instant>,
}

impl LiveStream {
    /// The next event; `None` ends the stream.
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some((point, framed)) = self.pending.pop_front() {
                if point.seq > self.last_sent {
                    self.last_sent = point.seq;
                    self.last_event = Some(tokio::time::Instant::now());
                    return Some(framed.unwrap_or_else(|| frame(&point)));
                }
                continue;
            }
            if self.needs_catch_up {
                let since = monitors::now_ms() - LIVE_WINDOW_MS;
                match self
                    .services
                    .monitors
                    .live_points(self.monitor_id, self.last_sent, since, CATCH_UP_LIMIT)
                    .await
                {
                    Ok(points) => {
                        self.needs_catch_up = points.len() as i64 == CATCH_UP_LIMIT;
                        self.pending.extend(points.into_iter().map(|p| (p, None)));
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "live stream could not catch up; closing it");
                        return None;
                    }
                }
            }
            let received = tokio::select! {
                biased;
                received = self.receiver.recv() => received,
                () = &mut self.keep_alive => {
                    let now = tokio::time::Instant::now();
                    if let Some(quiet_until) = not_idle_until(self.last_event, now) {
                        // Events went out since: the connection is not idle.
                        self.keep_alive.as_mut().reset(quiet_until);
                        continue;
                    }
                    self.keep_alive.as_mut().reset(now + KEEP_ALIVE_EVERY);
                    self.last_event = Some(now);
                    return Some(Bytes::from_static(KEEP_ALIVE));
                }
            };
            match received {
                Ok(batch) => {
                    let framed = batch.framed(frame);
                    self.pending.extend(
                        batch
                            .points
                            .iter()
                            .copied()
                            .zip(framed.iter().cloned().map(Some)),
                    );
                }
                // Fell behind the channel: read what was missed from the database.
                Err(broadcast::error::RecvError::Lagged(_)) => self.needs_catch_up = true,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

#[derive(Deserialize)]
struct HistoryQuery {
    view: Option<String>,
    date: Option<String>,
}

/// `GET /api/v1/monitors/{id}/history.csv?view=day|week|month|year&date=YYYY-MM-DD`.
async fn history_csv(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    session: Session,
    Query(query): Query<HistoryQuery>,
) -> Response {
    // `monitors::history` checks access itself.
    let (actor, id) = match (signed_in(&state, &session).await, monitor_id(&raw_id)) {
        (Ok(actor), Ok(id)) => (actor, id),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    let view_name = query.view.as_deref().unwrap_or("day");
    let Some(view) = HistoryView::parse(view_name) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!("view {view_name:?}: use day, week, month or year"),
        );
    };
    let history =
        match monitors::history(&state.services, &actor, id, view, query.date.as_deref()).await {
            Ok(h) => h,
            Err(Error::NotFound | Error::Forbidden) => return no_monitor(id),
            Err(Error::Invalid(_)) => {
                return refuse(StatusCode::BAD_REQUEST, "date: use YYYY-MM-DD");
            }
            Err(e) => return internal(e),
        };
    let csv = backend::monitors::history_csv(&history);
    let filename = format!(
        "ampwise-monitor-{id}-{}-{}.csv",
        view.as_str(),
        history.from
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        csv,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// A stream whose viewer gets an event every few seconds never sends a keep-alive; one that
    /// has been quiet for 15 s does.
    #[rstest]
    #[case::nothing_sent_yet(None, true)]
    #[case::an_event_2_s_ago(Some(2), false)]
    #[case::an_event_14_s_ago(Some(14), false)]
    #[case::quiet_15_s(Some(15), true)]
    #[case::quiet_a_minute(Some(60), true)]
    fn a_keep_alive_goes_out_only_after_15_s_of_silence(
        #[case] last_event_secs_ago: Option<u64>,
        #[case] due: bool,
    ) {
        let now = tokio::time::Instant::now() + Duration::from_secs(3600);
        let last = last_event_secs_ago.map(|s| now - Duration::from_secs(s));
        let later = not_idle_until(last, now);
        assert_eq!(later.is_none(), due);
        if let (Some(later), Some(last)) = (later, last) {
            assert_eq!(
                later,
                last + KEEP_ALIVE_EVERY,
                "re-armed for 15 s after the event"
            );
        }
    }
}
