//! CONTRACT §11 and §2: the web app at `GET /`, its files under `/app/`,
//! a `'self'`-only CSP, and nothing at all with `WEB_APP=false`. (The app
//! itself is driven in a real browser by `interop/webapp`.)

use crate::helpers::{Backend, TestApp};

/// The `/app/…` files the page names.
fn assets(page: &str) -> Vec<String> {
    page.split(['"', '\'']).filter(|part| part.starts_with("/app/")).map(str::to_owned).collect()
}

#[tokio::test]
async fn the_page_and_its_files_are_served_under_a_self_only_csp() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let r = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
    for directive in
        ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]
    {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe") && !csp.contains("http") && !csp.contains('*'), "{csp}");
    let page = r.text().await.unwrap();
    assert!(!page.contains("<script>") && !page.contains("<style"), "no inline script or style: {page}");
    let files = assets(&page);
    assert!(files.iter().any(|f| f.ends_with(".js")), "the page loads a script: {page}");
    for file in &files {
        let r = app.client.get(app.url(file)).header("accept-encoding", "gzip").send().await.unwrap();
        assert_eq!(r.status(), 200, "{file}");
        assert_eq!(r.headers()["cache-control"], "public, max-age=31536000, immutable", "{file}");
        if file.ends_with(".js") {
            assert_eq!(r.headers()["content-type"], "text/javascript; charset=utf-8");
            assert_eq!(r.headers()["content-encoding"], "gzip", "{file} is compressed");
        }
    }
    for bad in ["/app/index.html", "/app/../Cargo.toml", "/app/assets/nope.js", "/app/"] {
        assert_eq!(app.client.get(app.url(bad)).send().await.unwrap().status(), 404, "{bad}");
    }
}

#[tokio::test]
async fn web_app_false_serves_no_app() {
    let on = TestApp::spawn(Backend::Sqlite).await;
    let page = on.client.get(on.url("/")).send().await.unwrap().text().await.unwrap();
    let off = TestApp::spawn_with(Backend::Sqlite, |c| c.web_app = false).await;
    assert_eq!(off.client.get(off.url("/")).send().await.unwrap().status(), 404);
    for file in assets(&page) {
        assert_eq!(off.client.get(off.url(&file)).send().await.unwrap().status(), 404, "{file}");
    }
    // The API itself is unchanged.
    let r = off
        .client
        .post(off.url("/graphql"))
        .json(&serde_json::json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
