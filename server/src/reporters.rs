//! Reporters' HTTP side: the stream of status changes that keeps open pages up to date
//! (Server-Sent Events). It starts with every reporter's current facts, so a reconnect misses
//! nothing, then sends each change on the account's sites.

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use backend::Error;
use futures_util::StreamExt;
use model::reporter::ReporterLive;
use serde::Deserialize;
use tokio_stream::StreamMap;
use tokio_stream::wrappers::BroadcastStream;
use tower_sessions::Session;

use crate::AppState;
use crate::monitors::{refuse, signed_in};

pub fn live_routes() -> Router<AppState> {
    Router::new().route("/api/v1/reporters/live", get(live))
}

#[derive(Deserialize)]
struct LiveQuery {
    /// Only this site's reporters; every site the account may work on when absent.
    site: Option<i64>,
}

/// How often an open stream checks that its viewer may still see the sites it watches.
const RECHECK_ACCESS_EVERY: Duration = Duration::from_secs(30);
const KEEP_ALIVE_EVERY: Duration = Duration::from_secs(15);

fn event(live: &ReporterLive) -> Bytes {
    let data = serde_json::to_string(live).unwrap_or_default();
    Bytes::from(format!("data: {data}\n\n"))
}

/// `GET /api/v1/reporters/live[?site=ID]`: each reporter's facts as an event, then every change.
async fn live(
    State(state): State<AppState>,
    session: Session,
    Query(query): Query<LiveQuery>,
) -> Response {
    let actor = match signed_in(&state, &session).await {
        Ok(actor) => actor,
        Err(response) => return response,
    };
    let services = state.services.clone();
    let sites: HashSet<i64> = match query.site {
        Some(site) => {
            match backend::access::require(&services, &actor, site, backend::access::Need::Work)
                .await
            {
                Ok(_) => HashSet::from([site]),
                Err(Error::NotFound | Error::Forbidden) => {
                    return refuse(StatusCode::NOT_FOUND, format!("no site {site}"));
                }
                Err(e) => return crate::monitors::internal(e),
            }
        }
        None => match backend::sites::list(&services, &actor).await {
            Ok(list) => list.into_iter().map(|s| s.id).collect(),
            Err(e) => return crate::monitors::internal(e),
        },
    };
    // Subscribe before reading the current facts: a change in between is sent twice at worst.
    let mut changes = StreamMap::new();
    for site in &sites {
        changes.insert(
            *site,
            BroadcastStream::new(services.reporter_events.subscribe(*site)),
        );
    }
    let mut first = Vec::new();
    for site in &sites {
        match backend::reporters::of_site(&services, &actor, *site).await {
            Ok(list) => first.extend(list.into_iter().map(|r| {
                event(&ReporterLive {
                    id: r.id,
                    facts: r.facts,
                    paused: r.paused,
                })
            })),
            Err(e) => return crate::monitors::internal(e),
        }
    }
    let slot = match state.streams.take(actor.id) {
        Ok(slot) => slot,
        Err(no) => return crate::live_access::refuse(no),
    };
    let watched = sites.clone();
    let lost =
        crate::live_access::lost(state.clone(), &session, &actor, move |services, account| {
            let watched = watched.clone();
            async move {
                for site in watched {
                    match backend::access::require(
                        &services,
                        &account,
                        site,
                        backend::access::Need::Work,
                    )
                    .await
                    {
                        Ok(_) => {}
                        Err(Error::NotFound | Error::Forbidden) => return Ok(false),
                        Err(e) => return Err(e),
                    }
                }
                Ok(true)
            }
        });
    let stream = async_stream(services, actor, sites, changes, first);
    let stream = stream.take_until(Box::pin(crate::live_access::stream_end(&state, lost, slot)));
    (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
            (HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(stream.map(Ok::<_, Infallible>)),
    )
        .into_response()
}

type Changes = StreamMap<i64, BroadcastStream<Arc<ReporterLive>>>;

/// The events: the current facts first, then changes, keep-alives, and an end when the viewer
/// may no longer see one of the sites (the browser reconnects and gets what it may see now).
fn async_stream(
    services: backend::Services,
    actor: model::Account,
    sites: HashSet<i64>,
    changes: Changes,
    first: Vec<Bytes>,
) -> impl futures_util::Stream<Item = Bytes> + Send {
    struct S {
        services: backend::Services,
        actor: model::Account,
        sites: HashSet<i64>,
        changes: Changes,
        keep_alive: tokio::time::Interval,
        recheck: tokio::time::Interval,
    }
    let start = tokio::time::Instant::now();
    let s = S {
        services,
        actor,
        sites,
        changes,
        keep_alive: tokio::time::interval_at(start + KEEP_ALIVE_EVERY, KEEP_ALIVE_EVERY),
        recheck: tokio::time::interval_at(
            crate::live_access::spread_over(RECHECK_ACCESS_EVERY),
            RECHECK_ACCESS_EVERY,
        ),
    };
    let rest = futures_util::stream::unfold(s, |mut s| async move {
        loop {
            tokio::select! {
                Some((_, change)) = s.changes.next() => match change {
                    Ok(live) => return Some((event(&live), s)),
                    // Fell behind: the page can live with a missed change; the next one comes.
                    Err(_) => continue,
                },
                _ = s.keep_alive.tick() => return Some((Bytes::from_static(b":\n\n"), s)),
                _ = s.recheck.tick() => {
                    let still = backend::sites::list(&s.services, &s.actor)
                        .await
                        .map(|list| list.into_iter().map(|x| x.id).collect::<HashSet<i64>>());
                    match still {
                        Ok(visible) if s.sites.is_subset(&visible) => {}
                        _ => return None,
                    }
                }
            }
        }
    });
    futures_util::stream::iter(first).chain(rest)
}
