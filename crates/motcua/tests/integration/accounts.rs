//! Accounts and access control through the real HTTP stack, on both databases.

use crate::harness::{csrf_of, Session};
use crate::on_both_databases;
use motcua_store::demo::DEMO_PASSWORD;

/// Who a route lets in, written out here independently of the application's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Public,
    Anonymous,
    Own,
    Officials,
    SecurityLog,
    Demo,
    /// Citizens and organisations: they file dossiers.
    Applicants,
    /// Reception officers of a one-stop desk.
    Reception,
    /// Every official: the plan and its progress reports.
    PlanPeople,
    /// The plan monitor and system admins.
    Monitor,
    /// Specialists and leaders: the work queues.
    Examiners,
    /// Reception, specialists and leaders: the ledger.
    Processing,
    /// Providers' callbacks: no session opens them; they prove themselves by a token or a
    /// signature, and do not exist where no provider is configured (as here).
    Provider,
}

/// Every route with a sample path and its rule. A route the router knows but this table does not
/// fails the walk: adding a route means stating who may use it.
const ROUTES: &[(&str, &str, &str, Rule)] = &[
    ("GET", "/", "/", Rule::Public),
    ("GET", "/agencies", "/agencies", Rule::Public),
    ("GET", "/statistics", "/statistics", Rule::Public),
    ("GET", "/statistics.csv", "/statistics.csv", Rule::Public),
    ("GET", "/statistics.json", "/statistics.json", Rule::Public),
    ("GET", "/admin-units", "/admin-units", Rule::Public),
    ("GET", "/static/app.css", "/static/app.css", Rule::Public),
    ("GET", "/healthz", "/healthz", Rule::Public),
    ("GET", "/readyz", "/readyz", Rule::Public),
    ("GET", "/metrics", "/metrics", Rule::Public),
    ("GET", "/procedures", "/procedures", Rule::Public),
    (
        "GET",
        "/procedures/{agency}/{code}",
        "/procedures/ubnd-xa/1.001193",
        Rule::Public,
    ),
    (
        "GET",
        "/api/v1/procedures",
        "/api/v1/procedures",
        Rule::Public,
    ),
    (
        "GET",
        "/api/v1/procedures/{agency}/{code}",
        "/api/v1/procedures/ubnd-xa/1.001193",
        Rule::Public,
    ),
    (
        "GET",
        "/api/openapi.json",
        "/api/openapi.json",
        Rule::Public,
    ),
    ("GET", "/api/v1/me", "/api/v1/me", Rule::Own),
    ("GET", "/login", "/login", Rule::Anonymous),
    ("POST", "/login", "/login", Rule::Anonymous),
    ("POST", "/logout", "/logout", Rule::Own),
    ("GET", "/login/oidc", "/login/oidc", Rule::Anonymous),
    (
        "GET",
        "/login/oidc/callback",
        "/login/oidc/callback",
        Rule::Anonymous,
    ),
    ("GET", "/register", "/register", Rule::Anonymous),
    ("POST", "/register", "/register", Rule::Anonymous),
    (
        "GET",
        "/register/verify",
        "/register/verify",
        Rule::Anonymous,
    ),
    (
        "POST",
        "/register/verify",
        "/register/verify",
        Rule::Anonymous,
    ),
    (
        "POST",
        "/register/resend",
        "/register/resend",
        Rule::Anonymous,
    ),
    (
        "GET",
        "/password/forgot",
        "/password/forgot",
        Rule::Anonymous,
    ),
    (
        "POST",
        "/password/forgot",
        "/password/forgot",
        Rule::Anonymous,
    ),
    ("GET", "/password/reset", "/password/reset", Rule::Anonymous),
    (
        "POST",
        "/password/reset",
        "/password/reset",
        Rule::Anonymous,
    ),
    ("GET", "/account", "/account", Rule::Own),
    ("POST", "/account", "/account", Rule::Own),
    (
        "POST",
        "/account/logout-everywhere",
        "/account/logout-everywhere",
        Rule::Own,
    ),
    ("GET", "/account/tokens", "/account/tokens", Rule::Own),
    ("POST", "/account/tokens", "/account/tokens", Rule::Own),
    (
        "POST",
        "/account/tokens/{id}/revoke",
        "/account/tokens/not-mine/revoke",
        Rule::Own,
    ),
    ("GET", "/dev/inbox", "/dev/inbox", Rule::Demo),
    (
        "GET",
        "/admin/officials",
        "/admin/officials",
        Rule::Officials,
    ),
    (
        "POST",
        "/admin/officials",
        "/admin/officials",
        Rule::Officials,
    ),
    (
        "GET",
        "/admin/security-events",
        "/admin/security-events",
        Rule::SecurityLog,
    ),
    // System admins alone read the security log and enter holiday schedules.
    (
        "GET",
        "/admin/calendar",
        "/admin/calendar",
        Rule::SecurityLog,
    ),
    (
        "POST",
        "/admin/calendar",
        "/admin/calendar",
        Rule::SecurityLog,
    ),
    // Agency admins and system admins hold both "manage officials" and "manage the catalogue".
    (
        "GET",
        "/admin/procedures",
        "/admin/procedures",
        Rule::Officials,
    ),
    (
        "GET",
        "/admin/procedures/new",
        "/admin/procedures/new",
        Rule::Officials,
    ),
    (
        "POST",
        "/admin/procedures/new",
        "/admin/procedures/new",
        Rule::Officials,
    ),
    (
        "GET",
        "/admin/procedures/{agency}/{code}",
        "/admin/procedures/so-tp/9.999999",
        Rule::Officials,
    ),
    (
        "POST",
        "/admin/procedures/{agency}/{code}",
        "/admin/procedures/so-tp/9.999999",
        Rule::Officials,
    ),
    // Dossiers: object-level checks (someone else's id answers 404) are tested in `dossiers`.
    (
        "GET",
        "/procedures/{agency}/{code}/apply",
        "/procedures/ubnd-xa/1.001193/apply",
        Rule::Applicants,
    ),
    ("GET", "/dossiers", "/dossiers", Rule::Applicants),
    ("GET", "/dossiers/{id}", "/dossiers/not-mine", Rule::Own),
    (
        "GET",
        "/dossiers/{id}/edit",
        "/dossiers/not-mine/edit",
        Rule::Applicants,
    ),
    (
        "POST",
        "/dossiers/{id}/edit",
        "/dossiers/not-mine/edit",
        Rule::Applicants,
    ),
    (
        "POST",
        "/dossiers/{id}/attachments/{att}/delete",
        "/dossiers/not-mine/attachments/x/delete",
        Rule::Applicants,
    ),
    (
        "GET",
        "/dossiers/{id}/review",
        "/dossiers/not-mine/review",
        Rule::Applicants,
    ),
    (
        "POST",
        "/dossiers/{id}/submit",
        "/dossiers/not-mine/submit",
        Rule::Applicants,
    ),
    (
        "POST",
        "/dossiers/{id}/withdraw",
        "/dossiers/not-mine/withdraw",
        Rule::Applicants,
    ),
    (
        "POST",
        "/dossiers/{id}/delete",
        "/dossiers/not-mine/delete",
        Rule::Applicants,
    ),
    (
        "GET",
        "/dossiers/{id}/files/{att}",
        "/dossiers/not-mine/files/x",
        Rule::Own,
    ),
    (
        "GET",
        "/dossiers/{id}/receipt.pdf",
        "/dossiers/not-mine/receipt.pdf",
        Rule::Own,
    ),
    (
        "GET",
        "/dossiers/{id}/supplement.pdf",
        "/dossiers/not-mine/supplement.pdf",
        Rule::Own,
    ),
    ("GET", "/lookup", "/lookup", Rule::Public),
    ("POST", "/lookup/zalo", "/lookup/zalo", Rule::Public),
    (
        "POST",
        "/dossiers/{id}/zalo",
        "/dossiers/not-mine/zalo",
        Rule::Own,
    ),
    (
        "POST",
        "/dossiers/{id}/zalo/stop",
        "/dossiers/not-mine/zalo/stop",
        Rule::Own,
    ),
    ("GET", "/notifications", "/notifications", Rule::Own),
    ("GET", "/office", "/office", Rule::Reception),
    (
        "GET",
        "/office/register",
        "/office/register",
        Rule::Reception,
    ),
    (
        "POST",
        "/office/register",
        "/office/register",
        Rule::Reception,
    ),
    (
        "POST",
        "/office/dossiers/{id}/{action}",
        "/office/dossiers/not-mine/receive",
        Rule::Reception,
    ),
    ("GET", "/office/work", "/office/work", Rule::Examiners),
    ("GET", "/office/ledger", "/office/ledger", Rule::Processing),
    (
        "POST",
        "/office/process/{id}/{action}",
        "/office/process/not-mine/assign",
        Rule::Own,
    ),
    (
        "POST",
        "/office/process/{id}/result",
        "/office/process/not-mine/result",
        Rule::Own,
    ),
    (
        "GET",
        "/dossiers/{id}/result",
        "/dossiers/not-mine/result",
        Rule::Own,
    ),
    (
        "GET",
        "/dossiers/{id}/refusal.pdf",
        "/dossiers/not-mine/refusal.pdf",
        Rule::Own,
    ),
    (
        "GET",
        "/dossiers/{id}/apology.pdf",
        "/dossiers/not-mine/apology.pdf",
        Rule::Own,
    ),
    (
        "GET",
        "/dossiers/{id}/control-sheet.pdf",
        "/dossiers/not-mine/control-sheet.pdf",
        Rule::Own,
    ),
    (
        "GET",
        "/admin/procedures/{agency}/{code}/workflow",
        "/admin/procedures/so-tp/9.999999/workflow",
        Rule::Officials,
    ),
    (
        "POST",
        "/admin/procedures/{agency}/{code}/workflow",
        "/admin/procedures/so-tp/9.999999/workflow",
        Rule::Officials,
    ),
    (
        "POST",
        "/api/v1/uploads",
        "/api/v1/uploads",
        Rule::Applicants,
    ),
    (
        "GET",
        "/api/v1/uploads/{id}",
        "/api/v1/uploads/not-mine",
        Rule::Applicants,
    ),
    (
        "PUT",
        "/api/v1/uploads/{id}",
        "/api/v1/uploads/not-mine",
        Rule::Applicants,
    ),
    (
        "POST",
        "/api/v1/dossiers",
        "/api/v1/dossiers",
        Rule::Applicants,
    ),
    (
        "GET",
        "/api/v1/dossiers",
        "/api/v1/dossiers",
        Rule::Applicants,
    ),
    (
        "GET",
        "/api/v1/dossiers/{id}",
        "/api/v1/dossiers/not-mine",
        Rule::Applicants,
    ),
    (
        "POST",
        "/api/v1/dossiers/{id}/withdraw",
        "/api/v1/dossiers/not-mine/withdraw",
        Rule::Applicants,
    ),
    (
        "GET",
        "/admin/delivery",
        "/admin/delivery",
        Rule::SecurityLog,
    ),
    (
        "GET",
        "/admin/delivery/{id}",
        "/admin/delivery/not-a-message",
        Rule::SecurityLog,
    ),
    (
        "POST",
        "/admin/delivery/{id}/resend",
        "/admin/delivery/not-a-message/resend",
        Rule::SecurityLog,
    ),
    (
        "GET",
        "/opt-out/{token}",
        "/opt-out/not-a-token",
        Rule::Public,
    ),
    (
        "POST",
        "/opt-out/{token}",
        "/opt-out/not-a-token",
        Rule::Public,
    ),
    ("POST", "/account/outreach", "/account/outreach", Rule::Own),
    (
        "POST",
        "/hooks/inbound/sms",
        "/hooks/inbound/sms",
        Rule::Provider,
    ),
    (
        "POST",
        "/hooks/receipts/sms",
        "/hooks/receipts/sms",
        Rule::Provider,
    ),
    (
        "POST",
        "/hooks/receipts/zalo",
        "/hooks/receipts/zalo",
        Rule::Provider,
    ),
    (
        "GET",
        "/api/v1/lookup",
        "/api/v1/lookup?code=x&phone_last4=1234",
        Rule::Public,
    ),
    (
        "GET",
        "/static/upload.js",
        "/static/upload.js",
        Rule::Public,
    ),
    ("POST", "/uploads", "/uploads", Rule::Applicants),
    ("GET", "/plans", "/plans", Rule::PlanPeople),
    ("GET", "/plans/import", "/plans/import", Rule::Monitor),
    (
        "GET",
        "/plans/{id}/report.xlsx",
        "/plans/not-a-plan/report.xlsx",
        Rule::Monitor,
    ),
    ("POST", "/plans/import", "/plans/import", Rule::Monitor),
    (
        "GET",
        "/plans/{id}/plan.json",
        "/plans/not-a-plan/plan.json",
        Rule::Monitor,
    ),
    (
        "GET",
        "/plans/{id}/tasks/new",
        "/plans/not-a-plan/tasks/new",
        Rule::Monitor,
    ),
    (
        "POST",
        "/plans/{id}/tasks/new",
        "/plans/not-a-plan/tasks/new",
        Rule::Monitor,
    ),
    (
        "GET",
        "/plans/{id}/tasks/{code}/edit",
        "/plans/not-a-plan/tasks/2.1/edit",
        Rule::Monitor,
    ),
    (
        "POST",
        "/plans/{id}/tasks/{code}/edit",
        "/plans/not-a-plan/tasks/2.1/edit",
        Rule::Monitor,
    ),
    ("GET", "/plans/{id}", "/plans/not-a-plan", Rule::PlanPeople),
    (
        "GET",
        "/plans/{id}/tasks/{code}",
        "/plans/not-a-plan/tasks/2.1",
        Rule::PlanPeople,
    ),
    (
        "POST",
        "/plans/{id}/tasks/{code}/reports",
        "/plans/not-a-plan/tasks/2.1/reports",
        Rule::PlanPeople,
    ),
    (
        "GET",
        "/plans/{id}/report.pdf",
        "/plans/not-a-plan/report.pdf",
        Rule::Monitor,
    ),
    (
        "POST",
        "/plans/{id}/tasks/{code}/difficulties",
        "/plans/not-a-plan/tasks/2.1/difficulties",
        Rule::PlanPeople,
    ),
    (
        "POST",
        "/plans/{id}/difficulties/{d}/respond",
        "/plans/not-a-plan/difficulties/x/respond",
        Rule::Monitor,
    ),
    (
        "POST",
        "/plans/{id}/tasks/{code}/budgets",
        "/plans/not-a-plan/tasks/2.1/budgets",
        Rule::PlanPeople,
    ),
    (
        "POST",
        "/plans/{id}/budgets/{b}/submit",
        "/plans/not-a-plan/budgets/x/submit",
        Rule::PlanPeople,
    ),
    (
        "POST",
        "/plans/{id}/budgets/{b}/decide",
        "/plans/not-a-plan/budgets/x/decide",
        Rule::Monitor,
    ),
    (
        "POST",
        "/api/v1/dossiers/{id}/attachments",
        "/api/v1/dossiers/not-mine/attachments",
        Rule::Applicants,
    ),
    (
        "POST",
        "/api/v1/dossiers/{id}/submit",
        "/api/v1/dossiers/not-mine/submit",
        Rule::Applicants,
    ),
    (
        "GET",
        "/uploads/{id}",
        "/uploads/not-mine",
        Rule::Applicants,
    ),
    (
        "PUT",
        "/uploads/{id}",
        "/uploads/not-mine",
        Rule::Applicants,
    ),
    (
        "POST",
        "/dossiers/{id}/attach-upload",
        "/dossiers/not-mine/attach-upload",
        Rule::Applicants,
    ),
];

/// The demo identities: login name, may manage officials, may read the security log.
const PEOPLE: [(&str, bool, bool); 8] = [
    ("congdan", false, false),
    ("doanhnghiep", false, false),
    ("tiepnhan", false, false),
    ("chuyenvien", false, false),
    ("lanhdao", false, false),
    ("quantricoquan", true, false),
    ("theodoikehoach", false, false),
    ("quantri", true, true),
];

#[test]
fn every_route_of_the_router_has_an_expectation() {
    let table: Vec<(String, String)> = motcua_web::route_table()
        .iter()
        .map(|(m, p, _)| (m.to_string(), (*p).to_owned()))
        .collect();
    for (m, p) in &table {
        assert!(
            ROUTES.iter().any(|(rm, rp, _, _)| rm == m && rp == p),
            "route {m} {p} has no expected status per role in this test"
        );
    }
    for (m, p, _, _) in ROUTES {
        assert!(
            table.iter().any(|(tm, tp)| tm == m && tp == p),
            "{m} {p} is expected here but the router does not have it"
        );
    }
}

/// The status a person should get: `Ok` means the handler ran (any status it chose other than
/// a refusal), `Err(status)` a refusal by the access check.
fn expected(rule: Rule, person: Option<(&str, bool, bool)>, api: bool) -> Result<(), u16> {
    let signed_in = person.is_some();
    let login = if api { 401 } else { 303 };
    match (rule, person) {
        (Rule::Public | Rule::Demo, _) => Ok(()),
        (Rule::Provider, _) => Err(404),
        (Rule::Anonymous, None) => Ok(()),
        (Rule::Anonymous, Some(_)) => Err(303),
        (_, None) => Err(login),
        (Rule::Own, Some(_)) => Ok(()),
        (Rule::Officials, Some((_, officials, _))) if officials => Ok(()),
        (Rule::SecurityLog, Some((_, _, log))) if log => Ok(()),
        (Rule::Applicants, Some(("congdan" | "doanhnghiep", _, _))) => Ok(()),
        (Rule::Reception, Some(("tiepnhan", _, _))) => Ok(()),
        (Rule::PlanPeople, Some((name, _, _))) if !matches!(name, "congdan" | "doanhnghiep") => {
            Ok(())
        }
        (Rule::Monitor, Some(("theodoikehoach" | "quantri", _, _))) => Ok(()),
        (Rule::Examiners, Some(("chuyenvien" | "lanhdao", _, _))) => Ok(()),
        (Rule::Processing, Some(("tiepnhan" | "chuyenvien" | "lanhdao", _, _))) => Ok(()),
        _ if signed_in => Err(403),
        _ => Err(login),
    }
}

async fn request(
    s: &Session,
    method: &str,
    path: &str,
    bearer: Option<&str>,
) -> (u16, Option<String>) {
    let url = format!("{}{path}", s.base);
    let builder = if method == "GET" {
        s.client.get(&url)
    } else if method == "PUT" {
        s.client
            .put(&url)
            .header("upload-offset", "0")
            .header("x-csrf-token", s.csrf().await)
            .body(b"%PDF-1.4".to_vec())
    } else {
        let token = s.csrf().await;
        s.client.post(&url).form(&[("csrf", token.as_str())])
    };
    let builder = match bearer {
        Some(t) => builder.bearer_auth(t),
        None => builder,
    };
    let r = builder.send().await.unwrap();
    (
        r.status().as_u16(),
        r.headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned()),
    )
}

on_both_databases!(
    every_route_answers_every_role_as_the_permission_matrix_says,
    |app: TestApp| async move {
        let mut identities: Vec<Option<(&str, bool, bool)>> = vec![None];
        identities.extend(PEOPLE.iter().copied().map(Some));
        for person in identities {
            for (method, template, path, rule) in ROUTES {
                // Ending the session is tested on a fresh login, so the walk keeps its own.
                let s = match person {
                    Some((name, _, _)) => Session::login(&app, name, DEMO_PASSWORD).await,
                    None => Session::new(&app),
                };
                let api = template.starts_with("/api/");
                // The API takes bearer tokens, never cookies: give signed-in people one.
                let token = match (api, person) {
                    (true, Some(_)) => {
                        let (_, html, _) = s.post("/account/tokens", &[("name", "walk")]).await;
                        let at =
                            html.find(r#"id="new-token">"#).unwrap() + r#"id="new-token">"#.len();
                        Some(html[at..].split('<').next().unwrap().to_owned())
                    }
                    _ => None,
                };
                let (status, location) = request(&s, method, path, token.as_deref()).await;
                let who = person.map_or("anonymous", |p| p.0);
                match expected(*rule, person, api) {
                    Err(refusal) => {
                        assert_eq!(status, refusal, "{method} {path} as {who}");
                        if refusal == 303 {
                            let to = location.unwrap_or_default();
                            assert!(
                                to.starts_with("/login") || to == "/account",
                                "{method} {path} as {who} → {to}"
                            );
                        }
                    }
                    Ok(()) => {
                        assert!(
                            !matches!(status, 401 | 403 | 500),
                            "{method} {path} as {who}: {status}"
                        );
                        if status == 303 {
                            assert!(
                                !location
                                    .as_deref()
                                    .unwrap_or_default()
                                    .starts_with("/login?next"),
                                "{method} {path} as {who} sent to login"
                            );
                        }
                    }
                }
            }
        }
    }
);

on_both_databases!(
    a_form_without_the_right_csrf_token_changes_nothing,
    |app: TestApp| async move {
        let s = Session::login(&app, "congdan", DEMO_PASSWORD).await;
        let before = app
            .store
            .api_tokens(&app.store.login_record("congdan").await.unwrap().unwrap().id)
            .await
            .unwrap()
            .len();
        for token in [None, Some("wrong"), Some("")] {
            let mut form = vec![("name", "stolen")];
            if let Some(t) = token {
                form.push(("csrf", t));
            }
            let r = s
                .client
                .post(format!("{}/account/tokens", s.base))
                .form(&form)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{token:?}");
            assert!(r.text().await.unwrap().contains("Biểu mẫu không hợp lệ"));
        }
        let id = app.store.login_record("congdan").await.unwrap().unwrap().id;
        assert_eq!(
            app.store.api_tokens(&id).await.unwrap().len(),
            before,
            "no token was created"
        );
        // The same form with the right token goes through.
        assert_eq!(s.post("/account/tokens", &[("name", "real")]).await.0, 200);
        assert_eq!(app.store.api_tokens(&id).await.unwrap().len(), before + 1);
        let events = app
            .store
            .security_events(Some("csrf_rejected"), None, 10)
            .await
            .unwrap();
        assert_eq!(events.len(), 3);
    }
);

on_both_databases!(
    twenty_wrong_passwords_lock_the_account_and_the_right_one_is_refused,
    |app: TestApp| async move {
        let s = Session::new(&app);
        for i in 1..=20 {
            let (status, html, _) = s
                .post(
                    "/login",
                    &[("identifier", "congdan"), ("password", "sai-mat-khau-123")],
                )
                .await;
            assert_eq!(status, 200, "attempt {i}");
            if i < 20 {
                assert!(
                    html.contains("Tên đăng nhập hoặc mật khẩu không đúng."),
                    "attempt {i}"
                );
            } else {
                assert!(html.contains("Tài khoản bị tạm khóa đến"), "{html}");
            }
        }
        let (status, html, location) = s
            .post(
                "/login",
                &[("identifier", "congdan"), ("password", DEMO_PASSWORD)],
            )
            .await;
        assert_eq!(
            (status, location),
            (429, None),
            "the right password is refused during the lock, as too many requests"
        );
        assert!(
            html.contains(
                "Tài khoản đang bị tạm khóa do nhập sai mật khẩu nhiều lần. Vui lòng thử lại sau"
            ),
            "{html}"
        );
        // Another account is not affected.
        Session::login(&app, "doanhnghiep", DEMO_PASSWORD).await;
        let kinds: Vec<String> = app
            .store
            .security_events(None, Some("congdan"), 100)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds.iter().filter(|k| *k == "login_failed").count(), 20);
        assert!(
            kinds.contains(&"lockout".to_owned())
                && kinds.contains(&"login_refused_locked".to_owned())
        );
    }
);

on_both_databases!(
    register_verify_login_edit_profile_and_log_out,
    |app: TestApp| async move {
        let s = Session::new(&app);
        let (status, html, _) = s
            .post(
                "/register",
                &[
                    ("kind", "citizen"),
                    ("display_name", "Hoàng Văn Nam"),
                    ("contact", "0912 345 678"),
                    ("password", "ngắn"),
                    ("password2", "ngắn"),
                ],
            )
            .await;
        assert_eq!(status, 422);
        assert!(html.contains("Mật khẩu phải có ít nhất 10 ký tự."));
        let (status, _, location) = s
            .post(
                "/register",
                &[
                    ("kind", "citizen"),
                    ("display_name", "Hoàng Văn Nam"),
                    ("contact", "0912 345 678"),
                    ("password", "Mẫu Sơn mây trắng 2026"),
                    ("password2", "Mẫu Sơn mây trắng 2026"),
                ],
            )
            .await;
        assert_eq!(
            (status, location.as_deref()),
            (303, Some("/register/verify?contact=0912345678"))
        );
        // Not verified yet: login is refused with a way to verify.
        let (_, html, _) = s
            .post(
                "/login",
                &[
                    ("identifier", "0912345678"),
                    ("password", "Mẫu Sơn mây trắng 2026"),
                ],
            )
            .await;
        assert!(html.contains("Tài khoản chưa được xác thực"));
        // The code arrives through the outbox, readable on the demo's dev inbox.
        let (_, inbox, _) = s.get("/dev/inbox").await;
        let at = inbox.find("Mã xác thực tài khoản của bạn là ").unwrap()
            + "Mã xác thực tài khoản của bạn là ".len();
        let code = inbox[at..at + 6].to_owned();
        let (status, html, _) = s
            .post(
                "/register/verify",
                &[("contact", "0912345678"), ("code", "000000")],
            )
            .await;
        assert!(status == 422 && html.contains("Mã không đúng") || code == "000000");
        let (_, _, location) = s
            .post(
                "/register/verify",
                &[("contact", "0912345678"), ("code", &code)],
            )
            .await;
        assert_eq!(location.as_deref(), Some("/login?msg=verified"));
        let s = Session::login(&app, "+84 912 345 678", "Mẫu Sơn mây trắng 2026").await;
        let (status, html, _) = s.get("/account").await;
        assert_eq!(status, 200);
        assert!(html.contains("Hoàng Văn Nam"));
        let (status, html, _) = s
            .post(
                "/account",
                &[
                    ("display_name", "Hoàng Văn Nam"),
                    ("cccd", "020095001234"),
                    ("birth_date", "1996-01-01"),
                    ("address", "Thôn Nà Lốc"),
                    ("admin_unit_code", "05983"),
                ],
            )
            .await;
        assert_eq!(status, 422, "CCCD does not match the birth year");
        assert!(html.contains("Số CCCD không khớp với ngày sinh."));
        let (status, _, location) = s
            .post(
                "/account",
                &[
                    ("display_name", "Hoàng Văn Nam"),
                    ("cccd", "020095001234"),
                    ("birth_date", "1995-01-01"),
                    ("address", "Thôn Nà Lốc"),
                    ("admin_unit_code", "05983"),
                ],
            )
            .await;
        assert_eq!(
            (status, location.as_deref()),
            (303, Some("/account?msg=saved"))
        );
        let (_, html, _) = s.get("/account").await;
        assert!(
            html.contains(r#"value="020095001234""#)
                && html.contains(r#"<option value="05983" selected>"#)
        );
        // A birth date after today in Vietnam (which is UTC's tomorrow from 17:00 UTC), before
        // 1900 or not a date is refused, and the saved one stays.
        let tomorrow = (time::OffsetDateTime::now_utc()
            .to_offset(motcua_core::calendar::deadline::VIETNAM)
            .date()
            + time::Duration::days(1))
        .to_string();
        for birth in [tomorrow.as_str(), "1899-12-31", "01/01/1995", "1995-02-30"] {
            let (status, html, _) = s
                .post(
                    "/account",
                    &[
                        ("display_name", "Hoàng Văn Nam"),
                        ("cccd", "020095001234"),
                        ("birth_date", birth),
                        ("address", "Thôn Nà Lốc"),
                        ("admin_unit_code", "05983"),
                    ],
                )
                .await;
            assert_eq!(status, 422, "{birth}");
            assert!(html.contains("Ngày sinh không hợp lệ."), "{birth}: {html}");
        }
        let (_, html, _) = s.get("/account").await;
        assert!(html.contains(r#"value="1995-01-01""#), "{html}");
        let (status, _, location) = s.post("/logout", &[]).await;
        assert_eq!((status, location.as_deref()), (303, Some("/")));
        let (status, _, location) = s.get("/account").await;
        assert_eq!(
            (status, location.as_deref()),
            (303, Some("/login?next=%2Faccount")),
            "the session is gone"
        );
    }
);

on_both_databases!(
    api_tokens_work_until_revoked_and_only_their_owner_revokes_them,
    |app: TestApp| async move {
        let a = Session::login(&app, "congdan", DEMO_PASSWORD).await;
        let (_, html, _) = a.post("/account/tokens", &[("name", "cổng đối tác")]).await;
        let at = html.find(r#"id="new-token">"#).unwrap() + r#"id="new-token">"#.len();
        let token = html[at..].split('<').next().unwrap().to_owned();
        let me = |t: String| {
            let client = app.client.clone();
            let url = app.url("/api/v1/me");
            async move { client.get(url).bearer_auth(t).send().await.unwrap() }
        };
        let r = me(token.clone()).await;
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["username"], "congdan");
        assert_eq!(body["scopes"], serde_json::json!(["profile:read"]));
        assert_eq!(app.get("/api/v1/me").await.status(), 401);
        // A cookie does not authenticate the API.
        assert_eq!(a.get("/api/v1/me").await.0, 401);

        let id = app
            .store
            .api_tokens(&app.store.login_record("congdan").await.unwrap().unwrap().id)
            .await
            .unwrap()[0]
            .id
            .clone();
        let b = Session::login(&app, "doanhnghiep", DEMO_PASSWORD).await;
        assert_eq!(
            b.post(&format!("/account/tokens/{id}/revoke"), &[]).await.0,
            404,
            "not B's token"
        );
        assert_eq!(me(token.clone()).await.status(), 200, "still valid");
        assert_eq!(
            a.post(&format!("/account/tokens/{id}/revoke"), &[])
                .await
                .2
                .as_deref(),
            Some("/account/tokens?msg=revoked")
        );
        assert_eq!(me(token).await.status(), 401);
        let kinds: Vec<String> = app
            .store
            .security_events(None, Some("congdan"), 50)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert!(
            kinds.contains(&"token_used".to_owned()) && kinds.contains(&"token_revoked".to_owned())
        );
    }
);

on_both_databases!(
    a_token_revoked_or_an_account_locked_by_another_server_is_refused_at_once,
    |app: TestApp| async move {
        let citizen = app.store.login_record("congdan").await.unwrap().unwrap().id;
        let me = |t: String| {
            let client = app.client.clone();
            let url = app.url("/api/v1/me");
            async move {
                client
                    .get(url)
                    .bearer_auth(t)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        };
        // Refused within a moment, far sooner than any expiry of what a server keeps.
        let refused_soon = |t: String| async move {
            let until = std::time::Instant::now() + std::time::Duration::from_secs(3);
            while me(t.clone()).await != 401 {
                assert!(std::time::Instant::now() < until, "still accepted");
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        };
        assert!(motcua_store::TOKEN_CACHE_TTL > std::time::Duration::from_secs(3));
        let other = motcua_store::Store::open_shared(&app.store_config())
            .await
            .unwrap();
        // A new token, accepted again and again (kept in memory where the backend does).
        let accepted = || async {
            let token = app
                .store
                .create_api_token(&citizen, "portal", "")
                .await
                .unwrap();
            for _ in 0..3 {
                assert_eq!(me(token.clone()).await, 200);
            }
            token
        };
        let token = accepted().await;
        let id = other.api_tokens(&citizen).await.unwrap()[0].id.clone();
        assert!(other.revoke_api_token(&citizen, &id).await.unwrap());
        refused_soon(token).await;

        // Changed by hand in the database, not through motcua: refused as well.
        let token = accepted().await;
        let lock = "UPDATE users SET status = 'pending' WHERE username = 'congdan'";
        match other.backend() {
            motcua_store::Backend::Postgres(p) => sqlx::query(lock).execute(p).await.map(drop),
            motcua_store::Backend::Sqlite(p) => sqlx::query(lock).execute(p).await.map(drop),
        }
        .unwrap();
        refused_soon(token).await;
    }
);

on_both_databases!(
    an_agency_admin_creates_officials_only_in_their_agency,
    |app: TestApp| async move {
        let s = Session::login(&app, "quantricoquan", DEMO_PASSWORD).await;
        let form = |agency: &'static str, role: &'static str, user: &'static str| {
            vec![
                ("username", user),
                ("display_name", "Cán bộ Mới"),
                ("password", "Đồng Đăng 2026 mới"),
                ("role", role),
                ("agency", agency),
            ]
        };
        let (status, html, _) = s
            .post("/admin/officials", &form("so-tp", "specialist", "cb.tp"))
            .await;
        assert_eq!(status, 422);
        assert!(html.contains("Bạn không có quyền cấp vai trò này tại cơ quan đã chọn."));
        let (status, _, _) = s
            .post("/admin/officials", &form("so-xd", "system_admin", "cb.sa"))
            .await;
        assert_eq!(status, 422, "an agency admin cannot make system admins");
        let (status, html, _) = s
            .post("/admin/officials", &form("so-xd", "specialist", "cb.xd2"))
            .await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("Đã tạo tài khoản cb.xd2."));
        assert!(app.store.login_record("cb.tp").await.unwrap().is_none());
        assert!(app.store.login_record("cb.sa").await.unwrap().is_none());
        let new = Session::login(&app, "cb.xd2", "Đồng Đăng 2026 mới").await;
        assert_eq!(
            new.get("/admin/officials").await.0,
            403,
            "a specialist does not manage officials"
        );
        let admin = Session::login(&app, "quantri", DEMO_PASSWORD).await;
        let (_, log, _) = admin.get("/admin/security-events?kind=role_change").await;
        assert!(log.contains("granted specialist@so-xd to cb.xd2"), "{log}");
        let _ = csrf_of(&log);
    }
);
