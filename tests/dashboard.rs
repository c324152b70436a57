//! The dashboard's security over raw HTTP, against a real `pier serve`: no CORS headers ever,
//! CSRF tokens and same-origin state changes, cookie flags, no session fixation, escaped object
//! names, the sign-in limit, the Host allowlist, and browsers at the API's `/` sent to the
//! dashboard. (What a person does in the dashboard is driven in Chromium by
//! `tests/browser_dashboard.rs`.)

mod common;

use common::{raw, raw_bytes, RawResponse, Server, ACCESS_KEY, SECRET_KEY};

fn host_of(url: &str) -> &str {
    url.trim_start_matches("http://")
}

/// A form POST to the dashboard with `extra` headers.
fn post(server: &Server, path: &str, form: &str, extra: &[(&str, &str)]) -> RawResponse {
    let host = host_of(&server.dashboard);
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
        form.len()
    );
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(form);
    raw_bytes(&server.dashboard, req.as_bytes())
}

/// Signs in as the root key; returns the session cookie (`pier_session=...`).
fn sign_in(server: &Server) -> String {
    sign_in_as(server, ACCESS_KEY, SECRET_KEY)
}

/// Signs in with the key `id`; returns the session cookie.
fn sign_in_as(server: &Server, id: &str, secret: &str) -> String {
    let r = post(
        server,
        "/login",
        &format!("access_key={id}&secret={secret}"),
        &[],
    );
    assert_eq!(r.status, 303, "{r:?}");
    let cookie = r.header("set-cookie").expect("a session cookie");
    cookie.split(';').next().unwrap().to_owned()
}

/// The CSRF token on a signed-in page.
fn csrf(server: &Server, cookie: &str) -> String {
    let page = raw(&server.dashboard, "GET", "/", &[("Cookie", cookie)]);
    assert_eq!(page.status, 200, "{page:?}");
    let at = page.body.find("name=\"csrf-token\" content=\"").unwrap() + 27;
    page.body[at..at + 64].to_owned()
}

#[test]
fn the_dashboard_never_sends_cors_headers() {
    let server = Server::start();
    let cookie = sign_in(&server);
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/login"),
        ("OPTIONS", "/"),
        ("OPTIONS", "/login"),
    ] {
        let r = raw(
            &server.dashboard,
            method,
            path,
            &[
                ("Cookie", &cookie),
                ("Origin", "https://evil.example"),
                ("Access-Control-Request-Method", "POST"),
            ],
        );
        assert!(r.cors_names().is_empty(), "{method} {path}: {r:?}");
        if method == "OPTIONS" {
            assert_eq!(r.status, 405);
        }
    }
}

#[test]
fn every_page_carries_the_security_headers() {
    let server = Server::start();
    for path in ["/login", "/", "/assets/app.js"] {
        let r = raw(&server.dashboard, "GET", path, &[]);
        let csp = r.header("content-security-policy").unwrap_or("");
        assert!(
            csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(r.header("cache-control"), Some("no-store"), "{path}");
    }
}

#[test]
fn the_session_cookie_is_http_only_strict_and_fresh_at_every_sign_in() {
    let server = Server::start();
    let r = post(
        &server,
        "/login",
        &format!("access_key={ACCESS_KEY}&secret={SECRET_KEY}"),
        // A cookie planted before sign-in is never adopted.
        &[("Cookie", "pier_session=planted")],
    );
    let cookie = r.header("set-cookie").unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(!cookie.contains("planted"));
    let planted = raw(
        &server.dashboard,
        "GET",
        "/",
        &[("Cookie", "pier_session=planted")],
    );
    assert_eq!(planted.status, 303, "an unknown session is sent to sign in");
    let again = sign_in(&server);
    assert_ne!(
        again,
        cookie.split(';').next().unwrap(),
        "every sign-in gets a new id"
    );
    // The secret never reaches the page.
    let page = raw(&server.dashboard, "GET", "/", &[("Cookie", &again)]);
    assert!(!page.body.contains(SECRET_KEY));
}

#[test]
fn state_changes_need_the_csrf_token_and_this_origin() {
    let server = Server::start();
    let cookie = sign_in(&server);
    let token = csrf(&server, &cookie);
    let form =
        |csrf: &str, name: &str| format!("csrf={csrf}&name={name}&visibility=private&flavour=s3");
    let no_token = post(&server, "/", &form("", "nocsrf"), &[("Cookie", &cookie)]);
    assert_eq!(no_token.status, 403, "{no_token:?}");
    let foreign = post(
        &server,
        "/",
        &form(&token, "foreign"),
        &[("Cookie", &cookie), ("Origin", "https://evil.example")],
    );
    assert_eq!(foreign.status, 403, "{foreign:?}");
    let own_origin = server.dashboard.clone();
    let good = post(
        &server,
        "/",
        &form(&token, "withcsrf"),
        &[("Cookie", &cookie), ("Origin", &own_origin)],
    );
    assert_eq!(good.status, 303, "{good:?}");
    let listed = server.aws_ok(&["s3api", "list-buckets"]);
    assert!(
        listed.contains("withcsrf") && !listed.contains("nocsrf") && !listed.contains("foreign")
    );
    // The upload API wants the token in its header.
    let host = host_of(&server.dashboard);
    let put = |token: &str| {
        raw_bytes(
            &server.dashboard,
            format!(
                "PUT /api/b/withcsrf/object?key=a.txt HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nCookie: {cookie}\r\nx-csrf-token: {token}\r\nContent-Length: 2\r\n\r\nhi"
            )
            .as_bytes(),
        )
    };
    assert_eq!(put("wrong").status, 403);
    assert_eq!(put(&token).status, 200);
}

#[test]
fn object_names_are_shown_as_text() {
    let server = Server::start();
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "xss"]);
    let name = "<img src=x onerror=alert(1)>";
    let file = server.dir.path().join("x.txt");
    std::fs::write(&file, "x").unwrap();
    server.aws_ok(&[
        "s3api",
        "put-object",
        "--bucket",
        "xss",
        "--key",
        name,
        "--body",
        file.to_str().unwrap(),
    ]);
    let cookie = sign_in(&server);
    let page = raw(&server.dashboard, "GET", "/b/xss", &[("Cookie", &cookie)]);
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(name), "the name must be escaped");
    assert!(
        page.body.contains("&#60;img src=x onerror=alert(1)&#62;"),
        "{}",
        page.body
    );
}

#[test]
fn sign_in_is_limited_and_unknown_hosts_are_refused() {
    let server = Server::start();
    for _ in 0..5 {
        let r = post(&server, "/login", "access_key=nobody&secret=wrong", &[]);
        assert_eq!(r.status, 401);
    }
    let limited = post(
        &server,
        "/login",
        &format!("access_key={ACCESS_KEY}&secret={SECRET_KEY}"),
        &[],
    );
    assert_eq!(limited.status, 429, "even the right secret waits");
    let rebinding = raw_bytes(
        &server.dashboard,
        b"GET /login HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(rebinding.status, 421);
}

#[test]
fn a_browser_at_the_api_root_is_sent_to_the_dashboard() {
    let server = Server::start();
    let r = raw(
        &server.endpoint,
        "GET",
        "/",
        &[("Accept", "text/html,application/xhtml+xml")],
    );
    assert_eq!(r.status, 302);
    let port = server.dashboard.rsplit(':').next().unwrap();
    assert_eq!(
        r.header("location"),
        Some(format!("http://127.0.0.1:{port}/").as_str())
    );
    // An S3 client (no HTML wanted) still gets S3's answer.
    let s3 = raw(&server.endpoint, "GET", "/", &[]);
    assert_eq!(s3.status, 403, "{s3:?}");
}

#[test]
fn refused_requests_and_report_only_rules_are_reachable_from_the_cli() {
    let server = Server::start();
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "watched"]);
    let preflight = raw(
        &server.endpoint,
        "OPTIONS",
        "/watched/photo.jpg",
        &[
            ("Origin", "https://app.example"),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "content-type"),
        ],
    );
    assert_eq!(preflight.status, 403);
    let pier = |args: &[&str]| {
        let out = common::run_ok(
            std::process::Command::new(env!("CARGO_BIN_EXE_pier"))
                .args(args)
                .args(["--endpoint", &server.endpoint])
                .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
                .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let refused = pier(&["cors", "refused", "watched"]);
    assert!(
        refused.contains("https://app.example PUT preflight [content-type] ×1")
            && refused.contains("CORS is not enabled"),
        "{refused}"
    );
    let report = pier(&["cors", "report", "watched"]);
    assert!(report.contains("no report-only rules"), "{report}");
}

#[test]
fn a_prefix_limited_key_starts_at_its_prefix_and_sees_nothing_else() {
    let server = Server::start();
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "shared"]);
    let file = server.dir.path().join("x.txt");
    std::fs::write(&file, "x").unwrap();
    for key in ["public/a.txt", "private/b.txt"] {
        server.aws_ok(&[
            "s3api",
            "put-object",
            "--bucket",
            "shared",
            "--key",
            key,
            "--body",
            file.to_str().unwrap(),
        ]);
    }
    let key = server.create_key(&[
        "--capabilities",
        "listBuckets,listFiles,readFiles",
        "--bucket",
        "shared",
        "--prefix",
        "public/",
    ]);
    let cookie = sign_in_as(&server, &key.id, &key.secret);
    let root = raw(
        &server.dashboard,
        "GET",
        "/b/shared",
        &[("Cookie", &cookie)],
    );
    assert_eq!(
        (root.status, root.header("location")),
        (303, Some("/b/shared?prefix=public%2F"))
    );
    let page = raw(
        &server.dashboard,
        "GET",
        "/b/shared?prefix=public%2F",
        &[("Cookie", &cookie)],
    );
    assert!(
        page.body.contains("a.txt") && !page.body.contains("b.txt"),
        "{}",
        page.body
    );
    let elsewhere = raw(
        &server.dashboard,
        "GET",
        "/b/shared/object?key=private%2Fb.txt",
        &[("Cookie", &cookie)],
    );
    assert_eq!(elsewhere.status, 403);
}

#[test]
fn another_accounts_key_sees_only_its_own_account_in_the_dashboard() {
    let server = Server::start();
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "admins-bucket"]);
    server.aws_ok(&[
        "s3api",
        "put-bucket-acl",
        "--bucket",
        "admins-bucket",
        "--acl",
        "public-read",
    ]);
    let other = server.create_key(&[]);
    let (id, account) = (other.id.as_str(), other.account.as_str());
    let cookie = sign_in_as(&server, id, &other.secret);
    let home = raw(&server.dashboard, "GET", "/", &[("Cookie", &cookie)]);
    assert_eq!(home.status, 200);
    assert!(
        home.body.contains(&format!("account {account}")),
        "the page names the account: {}",
        home.body
    );
    assert!(
        !home.body.contains("admins-bucket"),
        "another account's bucket is not listed: {}",
        home.body
    );
    // The admin's public-read bucket may be listed by anyone, and shows as what it is.
    let page = raw(
        &server.dashboard,
        "GET",
        "/b/admins-bucket",
        &[("Cookie", &cookie)],
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("public listing (S3 public-read)"),
        "{}",
        page.body
    );
    let admin = sign_in(&server);
    let keys = raw(&server.dashboard, "GET", "/keys", &[("Cookie", &admin)]);
    assert!(
        keys.body.contains("account pier") && !keys.body.contains(id),
        "the admin's key page lists its own account's keys only: {}",
        keys.body
    );
}

/// A dashboard upload of `body` to `bucket`/`key` (percent-encoded by the caller).
fn dashboard_put(
    server: &Server,
    cookie: &str,
    bucket: &str,
    key: &str,
    body: &str,
) -> RawResponse {
    let path = format!("/api/b/{bucket}/object?key={key}");
    upload_api(server, cookie, "PUT", &path, body)
}

/// A request to the dashboard's upload API, as `app.js` sends it (the CSRF token in its header).
fn upload_api(server: &Server, cookie: &str, method: &str, path: &str, body: &str) -> RawResponse {
    let host = host_of(&server.dashboard);
    let token = csrf(server, cookie);
    raw_bytes(
        &server.dashboard,
        format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nCookie: {cookie}\r\nx-csrf-token: {token}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
}

#[test]
fn a_part_uploaded_past_a_cap_is_refused_with_the_cap_not_a_server_error() {
    let server = Server::start();
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "capped"]);
    let set = std::process::Command::new(env!("CARGO_BIN_EXE_pier"))
        .args([
            "caps",
            "set",
            "--bucket",
            "capped",
            "--storage",
            "1000",
            "--data-dir",
        ])
        .arg(server.dir.path().join("data"))
        .output()
        .unwrap();
    assert!(set.status.success(), "{set:?}");
    let cookie = sign_in(&server);
    let started = upload_api(
        &server,
        &cookie,
        "POST",
        "/api/b/capped/uploads?key=big",
        "",
    );
    assert_eq!(started.status, 200, "{started:?}");
    let answer: serde_json::Value = serde_json::from_str(&started.body).unwrap();
    let id = answer["uploadId"]
        .as_str()
        .expect("an upload id")
        .to_owned();
    let part = upload_api(
        &server,
        &cookie,
        "PUT",
        &format!("/api/b/capped/uploads/{id}/1"),
        &"x".repeat(2000),
    );
    assert_eq!(part.status, 403, "{part:?}");
    assert!(part.body.contains("Refused"), "{part:?}");
    let fits = upload_api(
        &server,
        &cookie,
        "PUT",
        &format!("/api/b/capped/uploads/{id}/1"),
        &"x".repeat(500),
    );
    assert_eq!(fits.status, 200, "{fits:?}");
}

#[test]
fn the_settings_form_keeps_the_public_access_block() {
    // Issue 23: with BlockPublicAcls and BlockPublicPolicy on, S3 refuses to make the bucket
    // public; the dashboard's form must refuse too, or an anonymous GET reads a private object.
    let server = Server::start();
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "blocked"]);
    server.aws_ok(&[
        "s3api",
        "put-public-access-block",
        "--bucket",
        "blocked",
        "--public-access-block-configuration",
        "BlockPublicAcls=true,BlockPublicPolicy=true",
    ]);
    let file = server.dir.path().join("secret.txt");
    std::fs::write(&file, "private").unwrap();
    server.aws_ok(&[
        "s3",
        "cp",
        file.to_str().unwrap(),
        "s3://blocked/secret.txt",
    ]);
    let cookie = sign_in(&server);
    let token = csrf(&server, &cookie);
    let origin = server.dashboard.clone();
    let public = post(
        &server,
        "/b/blocked/settings",
        &format!("csrf={token}&visibility=public&policy="),
        &[("Cookie", &cookie), ("Origin", &origin)],
    );
    assert_eq!(public.status, 403, "{public:?}");
    assert!(public.body.contains("BlockPublicAcls"), "{}", public.body);
    let policy = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::blocked/*"}]}"#;
    let encoded = pier_edge::percent::encode(policy, pier_edge::percent::UNRESERVED);
    let public_policy = post(
        &server,
        "/b/blocked/settings",
        &format!("csrf={token}&visibility=private&policy={encoded}"),
        &[("Cookie", &cookie), ("Origin", &origin)],
    );
    assert_eq!(public_policy.status, 403, "{public_policy:?}");
    assert!(
        public_policy.body.contains("BlockPublicPolicy"),
        "{}",
        public_policy.body
    );
    let anonymous = raw(&server.endpoint, "GET", "/blocked/secret.txt", &[]);
    assert_eq!(anonymous.status, 403, "{anonymous:?}");
}

#[test]
fn dashboard_actions_meet_the_policys_conditions_on_the_client() {
    // Issue 23: a policy denying uploads from 127.0.0.1 binds dashboard uploads too (they were
    // decided without the request's address).
    let server = Server::start();
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "fenced"]);
    let policy = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::fenced/*","Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.0/8"}}}]}"#;
    server.aws_ok(&[
        "s3api",
        "put-bucket-policy",
        "--bucket",
        "fenced",
        "--policy",
        policy,
    ]);
    let cookie = sign_in(&server);
    let r = dashboard_put(&server, &cookie, "fenced", "a.txt", "hi");
    assert_eq!(r.status, 403, "{r:?}");
    assert!(r.body.contains("denies s3:PutObject"), "{}", r.body);
}

#[test]
fn dashboard_uploads_keep_to_the_names_both_apis_carry() {
    let server = Server::start();
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "named"]);
    let cookie = sign_in(&server);
    for bad in ["a%01b", "a%2F%2Fb", "trailing%2F", "%2Flead"] {
        let r = dashboard_put(&server, &cookie, "named", bad, "x");
        assert_eq!(r.status, 400, "{bad}: {r:?}");
    }
    assert_eq!(
        dashboard_put(&server, &cookie, "named", "fine%2Fname.txt", "x").status,
        200
    );
    let listed = server.aws_ok(&["s3api", "list-objects-v2", "--bucket", "named"]);
    assert!(listed.contains("fine/name.txt"), "{listed}");
    assert_eq!(listed.matches("\"Key\"").count(), 1, "{listed}");
}

#[test]
fn report_only_access_forms_need_the_token_are_checked_as_saving_and_stay_with_the_owner() {
    let server = Server::start();
    server.aws_ok(&["s3api", "create-bucket", "--bucket", "staging"]);
    server.aws_ok(&[
        "s3api",
        "put-public-access-block",
        "--bucket",
        "staging",
        "--public-access-block-configuration",
        "BlockPublicAcls=true",
    ]);
    let cookie = sign_in(&server);
    let token = csrf(&server, &cookie);
    let origin = server.dashboard.clone();
    let ours = [("Cookie", cookie.as_str()), ("Origin", origin.as_str())];
    let staged = || {
        raw(
            &server.dashboard,
            "GET",
            "/b/staging/access",
            &[("Cookie", &cookie)],
        )
        .body
    };
    let policy = r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject","Resource":"arn:aws:s3:::staging/*"}]}"#;
    let encoded = pier_edge::percent::encode(policy, pier_edge::percent::UNRESERVED);
    let form = |csrf: &str| format!("csrf={csrf}&visibility=private&policy={encoded}");
    let no_token = post(&server, "/b/staging/access/stage", &form(""), &ours);
    assert_eq!(no_token.status, 403, "{no_token:?}");
    let foreign = post(
        &server,
        "/b/staging/access/stage",
        &form(&token),
        &[("Cookie", &cookie), ("Origin", "https://evil.example")],
    );
    assert_eq!(foreign.status, 403, "{foreign:?}");
    assert!(staged().contains("Nothing is staged"), "{}", staged());
    // Staging is checked as saving is: the public access block refuses a public setting.
    let public = post(
        &server,
        "/b/staging/access/stage",
        &format!("csrf={token}&visibility=public&policy="),
        &ours,
    );
    assert_eq!(public.status, 403, "{public:?}");
    assert!(public.body.contains("BlockPublicAcls"), "{}", public.body);
    let bad = post(
        &server,
        "/b/staging/access/stage",
        &format!("csrf={token}&visibility=private&policy=%7Bnot%20json"),
        &ours,
    );
    assert_eq!(bad.status, 400, "{bad:?}");
    let unchanged = post(
        &server,
        "/b/staging/access/stage",
        &format!("csrf={token}&visibility=private&policy="),
        &ours,
    );
    assert_eq!(unchanged.status, 400, "nothing to stage: {unchanged:?}");
    // Another account's key may neither stage nor see what is staged.
    let other = server.create_key(&[]);
    let theirs = sign_in_as(&server, &other.id, &other.secret);
    let their_token = csrf(&server, &theirs);
    let intruder = post(
        &server,
        "/b/staging/access/stage",
        &form(&their_token),
        &[("Cookie", &theirs), ("Origin", &origin)],
    );
    assert_eq!(intruder.status, 403, "{intruder:?}");
    let peek = raw(
        &server.dashboard,
        "GET",
        "/b/staging/access",
        &[("Cookie", &theirs)],
    );
    assert_eq!(peek.status, 403, "{peek:?}");
    // The owner stages; the change takes no effect until promoted.
    let good = post(&server, "/b/staging/access/stage", &form(&token), &ours);
    assert_eq!(good.status, 303, "{good:?}");
    assert!(staged().contains("Staged by"), "{}", staged());
    let live = server.aws(&["s3api", "get-bucket-policy", "--bucket", "staging"]);
    assert!(!live.status.success(), "no policy in effect yet");
    let discard = |csrf: &str| format!("csrf={csrf}&action=discard");
    let no_token = post(&server, "/b/staging/access/staged", &discard(""), &ours);
    assert_eq!(no_token.status, 403, "{no_token:?}");
    let intruder = post(
        &server,
        "/b/staging/access/staged",
        &format!("csrf={their_token}&action=promote"),
        &[("Cookie", &theirs), ("Origin", &origin)],
    );
    assert_eq!(intruder.status, 403, "{intruder:?}");
    assert!(staged().contains("Staged by"), "still staged: {}", staged());
    let discarded = post(&server, "/b/staging/access/staged", &discard(&token), &ours);
    assert_eq!(discarded.status, 303, "{discarded:?}");
    assert!(staged().contains("Nothing is staged"), "{}", staged());
    let live = server.aws(&["s3api", "get-bucket-policy", "--bucket", "staging"]);
    assert!(
        !live.status.success(),
        "a discarded change never took effect"
    );
}
