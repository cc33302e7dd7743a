//! Browser tests: Debian's Chromium driven through chromedriver (WebDriver) with fantoccini.

use crate::harness::{skip, Db, TestApp};
use fantoccini::{Client, ClientBuilder, Locator};
use std::process::Stdio;
use std::time::Duration;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium session; the driver process dies with it.
pub struct Browser {
    pub client: Client,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a fresh headless profile, or `None` (after [`skip`]) when Debian's
    /// chromium / chromium-driver are not installed.
    pub async fn start() -> Option<Browser> {
        for path in [CHROMEDRIVER, CHROMIUM] {
            if !std::path::Path::new(path).exists() {
                skip(
                    "browser test",
                    &format!("{path} not found (apt-get install chromium chromium-driver)"),
                );
                return None;
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = tokio::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=360,740",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = String::new();
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Some(Browser {
                        client,
                        _driver: driver,
                        _profile: profile,
                    })
                }
                Err(e) => last_error = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not accept a session: {last_error}");
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_page_loads_and_leads_to_the_agencies_on_a_phone_screen() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::start(Db::Sqlite).await.unwrap();
    let c = &browser.client;
    c.goto(&app.url("/")).await.unwrap();
    assert_eq!(c.title().await.unwrap(), "Cổng Dịch vụ công tỉnh Lạng Sơn");

    // A 360 px phone must not need horizontal scrolling.
    let width = c
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    let (scroll, inner) = (width[0].as_i64().unwrap(), width[1].as_i64().unwrap());
    assert!(
        scroll <= inner,
        "page is {scroll}px wide in a {inner}px window"
    );

    c.find(Locator::LinkText("Cơ quan, đơn vị"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let h1 = c
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(h1, "Cơ quan, đơn vị");
    assert_eq!(c.current_url().await.unwrap().path(), "/agencies");
    browser.close().await;
}

async fn fill(c: &Client, css: &str, text: &str) {
    let field = c.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn submit(c: &Client, form: &str) {
    c.find(Locator::Css(&format!("{form} button[type=submit]")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits (up to 10 s) for the page's heading to read `expected`: a click starts a navigation
/// that finishes later.
async fn expect_h1(c: &Client, expected: &str) {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css("h1")).await {
            if let Ok(text) = e.text().await {
                if text == expected {
                    return;
                }
                last = text;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "heading '{last}', expected '{expected}' at {:?}",
        c.current_url().await.ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_registers_verifies_logs_in_edits_the_profile_and_logs_out() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::start(Db::Sqlite).await.unwrap();
    let c = &browser.client;
    c.goto(&app.url("/")).await.unwrap();
    c.find(Locator::LinkText("Đăng ký"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_h1(c, "Đăng ký tài khoản").await;
    fill(c, "#display_name", "Lý Thị Mai").await;
    fill(c, "#contact", "mai.ly@example.vn").await;
    fill(c, "#password", "Chợ Kỳ Lừa 2026").await;
    fill(c, "#password2", "Chợ Kỳ Lừa 2026").await;
    submit(c, "form[action='/register']").await;
    expect_h1(c, "Xác thực tài khoản").await;

    // Read the code in the demo's dev inbox, as a tester would.
    c.goto(&app.url("/dev/inbox")).await.unwrap();
    let inbox = c
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = inbox.find("Mã xác thực tài khoản của bạn là ").unwrap()
        + "Mã xác thực tài khoản của bạn là ".len();
    let code: String = inbox[at..].chars().take(6).collect();
    c.back().await.unwrap();
    fill(c, "#code", &code).await;
    submit(c, "form[action='/register/verify']").await;
    expect_h1(c, "Đăng nhập").await;
    assert!(c
        .find(Locator::Css(".notice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("đã được xác thực"));

    fill(c, "#identifier", "mai.ly@example.vn").await;
    fill(c, "#password", "Chợ Kỳ Lừa 2026").await;
    submit(c, "form[action='/login']").await;
    expect_h1(c, "Tài khoản của tôi").await;

    fill(c, "#cccd", "020301001234").await;
    fill(c, "#address", "Số 5 phố Tam Thanh").await;
    c.execute(
        "document.getElementById('birth_date').value = '2001-05-19';",
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Css("#admin_unit_code option[value='05986']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    submit(c, "form[action='/account']").await;
    c.wait().for_element(Locator::Css(".notice")).await.unwrap();
    assert!(c
        .find(Locator::Css(".notice"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .contains("Đã lưu"));
    let value = c
        .find(Locator::Css("#cccd"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(value.as_deref(), Some("020301001234"));

    c.find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::LinkText("Đăng nhập"))
        .await
        .unwrap();
    c.goto(&app.url("/account")).await.unwrap();
    expect_h1(c, "Đăng nhập").await;
    browser.close().await;
}

/// A citizen with only a phone: the code travels by SMS through the real VNPT client to the
/// providers' sandbox, is read on its simulated phone, and verifies the account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_registers_with_a_phone_and_verifies_with_the_sms_code() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (app, sandbox) = TestApp::start_phones(
        Db::Sqlite,
        motcua_sandbox::Settings::default(),
        time::Duration::minutes(5),
    )
    .await
    .unwrap();
    let c = &browser.client;
    c.goto(&app.url("/register")).await.unwrap();
    fill(c, "#display_name", "Hoàng Văn Nam").await;
    fill(c, "#contact", "0912 345 678").await;
    fill(c, "#password", "Mẫu Sơn mây trắng 2026").await;
    fill(c, "#password2", "Mẫu Sơn mây trắng 2026").await;
    submit(c, "form[action='/register']").await;
    expect_h1(c, "Xác thực tài khoản").await;
    let verify = c.current_url().await.unwrap();

    // The demo's inbox points to the simulated phones; the SMS is there, without diacritics.
    c.goto(&app.url("/dev/inbox")).await.unwrap();
    c.find(Locator::LinkText("điện thoại mô phỏng"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let mut text = String::new();
    for _ in 0..100 {
        c.goto(&format!("{}/?to=0912345678", sandbox.url()))
            .await
            .unwrap();
        text = c
            .find(Locator::Css("body"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if text.contains("Ma xac thuc tai khoan cua ban la ") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let at = text
        .find("Ma xac thuc tai khoan cua ban la ")
        .expect("the SMS arrived")
        + "Ma xac thuc tai khoan cua ban la ".len();
    let code: String = text[at..].chars().take(6).collect();
    c.goto(verify.as_str()).await.unwrap();
    fill(c, "#code", &code).await;
    submit(c, "form[action='/register/verify']").await;
    expect_h1(c, "Đăng nhập").await;
    fill(c, "#identifier", "0912345678").await;
    fill(c, "#password", "Mẫu Sơn mây trắng 2026").await;
    submit(c, "form[action='/login']").await;
    expect_h1(c, "Tài khoản của tôi").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_files_a_dossier_online_and_anyone_tracks_it_by_code() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::start(Db::Sqlite).await.unwrap();
    let c = &browser.client;
    c.goto(&app.url("/login")).await.unwrap();
    fill(c, "#identifier", "congdan").await;
    fill(c, "#password", motcua_store::demo::DEMO_PASSWORD).await;
    submit(c, "form[action='/login']").await;
    expect_h1(c, "Tài khoản của tôi").await;

    // Search without diacritics, open the procedure, start the online form.
    c.goto(&app.url("/procedures?q=cap+ban+sao+tu+so+goc"))
        .await
        .unwrap();
    c.find(Locator::XPath(
        "//main//a[contains(., 'Cấp bản sao từ sổ gốc')]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    expect_h1(c, "Cấp bản sao từ sổ gốc").await;
    c.find(Locator::LinkText("Nộp hồ sơ trực tuyến"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_h1(c, "Nộp hồ sơ trực tuyến").await;
    // Prefilled from the profile; the citizen completes the address and attaches a PDF.
    let name = c
        .find(Locator::Css("#f-applicant_name"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap();
    assert_eq!(name.as_deref(), Some("Nguyễn Văn An"));
    fill(
        c,
        "#f-applicant_address",
        "Số 12 phố Lê Lợi, phường Lương Văn Tri",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("to-khai.pdf");
    std::fs::write(&file, crate::dossiers::pdf(4096)).unwrap();
    c.find(Locator::Css("#doc_other"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    c.find(Locator::Css("button[value='review']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_h1(c, "Xem lại hồ sơ trước khi nộp").await;
    let review = c
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(review.contains("to-khai.pdf"), "{review}");
    submit(c, "form[action$='/submit']").await;
    c.wait()
        .for_element(Locator::Css("#dossier-code"))
        .await
        .unwrap();
    let code = c
        .find(Locator::Css("#dossier-code"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(code.starts_with("000.00.00.H00-"), "{code}");
    let status = c
        .find(Locator::Css("#dossier-status"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(status, "Đã nộp trực tuyến, chờ tiếp nhận");

    // With JavaScript the file went as a resumable upload, then was attached.
    let d = app.store.dossier_by_code(&code).await.unwrap().unwrap();
    let files = app.store.attachments(&d.id).await.unwrap();
    assert_eq!(
        (files.len(), files[0].file_name.as_str()),
        (1, "to-khai.pdf")
    );
    if let motcua_store::Backend::Sqlite(p) = app.store.backend() {
        let resumable: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM uploads WHERE sha256 = $1")
            .bind(&files[0].sha256)
            .fetch_one(p)
            .await
            .unwrap();
        assert_eq!(resumable, 1, "the page used the resumable upload");
    }

    // "Hồ sơ của tôi" lists it.
    c.find(Locator::LinkText("Hồ sơ của tôi"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_h1(c, "Hồ sơ của tôi").await;
    c.find(Locator::LinkText(&code)).await.unwrap();

    // Signed out, anyone with the code and the phone's last four digits sees the status only.
    c.find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::LinkText("Đăng nhập"))
        .await
        .unwrap();
    c.find(Locator::LinkText("Tra cứu hồ sơ"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_h1(c, "Tra cứu hồ sơ").await;
    fill(c, "#code", &code).await;
    fill(c, "#phone", &motcua_store::demo::DEMO_CITIZEN_PHONE[6..]).await;
    submit(c, "form[action='/lookup']").await;
    c.wait()
        .for_element(Locator::Css("#ket-qua"))
        .await
        .unwrap();
    let result = c
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        result.contains("Đã nộp trực tuyến, chờ tiếp nhận"),
        "{result}"
    );
    assert!(result.contains("Nộp hồ sơ trực tuyến"), "{result}");
    for private in ["Nguyễn Văn An", "Lê Lợi", "020190000123", "to-khai.pdf"] {
        assert!(!result.contains(private), "the lookup shows {private}");
    }
    let width = c
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        width[0].as_i64() <= width[1].as_i64(),
        "lookup page wider than the phone"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agency_reports_progress_and_the_monitor_sees_it_and_downloads_the_report() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::start(Db::Sqlite).await.unwrap();
    crate::plans::radio_official(&app).await;
    let plan = crate::plans::plan_id(&app).await;
    let c = &browser.client;
    let login_url = app.url("/login");
    let login = |user: &'static str| {
        let login_url = login_url.clone();
        async move {
            c.goto(&login_url).await.unwrap();
            fill(c, "#identifier", user).await;
            fill(c, "#password", motcua_store::demo::DEMO_PASSWORD).await;
            submit(c, "form[action='/login']").await;
            expect_h1(c, "Tài khoản của tôi").await;
        }
    };
    login("dai-ptth").await;
    c.find(Locator::LinkText("Kế hoạch"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_h1(c, "Kế hoạch tuyên truyền").await;
    c.goto(&app.url(&format!("/plans/{plan}/tasks/2.1")))
        .await
        .unwrap();
    expect_h1(c, "Nhiệm vụ 2.1").await;
    let month = motcua_core::plan::Month::of(
        time::OffsetDateTime::now_utc()
            .to_offset(motcua_core::calendar::deadline::VIETNAM)
            .date(),
    )
    .to_string();
    // A month input takes its value by script in headless Chromium.
    c.execute(
        &format!("document.getElementById('month').value = '{month}';"),
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Css("#target option[value='reportage']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    fill(c, "#quantity", "1").await;
    fill(c, "#done", "Phóng sự tháng này về dịch vụ công trực tuyến").await;
    fill(c, "#cost_vnd", "3000000").await;
    fill(c, "#evidence_url", "https://langsontv.vn/phong-su").await;
    submit(c, "#report-form").await;
    c.wait().for_element(Locator::Css(".notice")).await.unwrap();
    let page = c
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Đã ghi nhận báo cáo tiến độ"), "{page}");
    assert!(page.contains("Phóng sự tháng này về dịch vụ công trực tuyến"));

    // The monitor sees the task's progress change and downloads the consolidated report.
    c.find(Locator::Css("form[action='/logout'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::LinkText("Đăng nhập"))
        .await
        .unwrap();
    login("theodoikehoach").await;
    c.goto(&app.url(&format!("/plans/{plan}"))).await.unwrap();
    expect_h1(c, "Kế hoạch số 147/KH-UBND").await;
    let dash = c
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(dash.contains("1 báo cáo; 3.000.000 đồng"), "{dash}");
    // Task 2.1 expects one reportage for every month closed since 10/2018; one is delivered.
    let now = time::OffsetDateTime::now_utc().to_offset(motcua_core::calendar::deadline::VIETNAM);
    let closed = motcua_core::plan::Month {
        year: 2018,
        month: 10,
    }
    .months_until(motcua_core::plan::Month::of(now.date()));
    assert!(dash.contains(&format!("1/{closed} phóng sự")), "{dash}");
    let link = c
        .find(Locator::LinkText("Tải báo cáo tổng hợp (PDF)"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let got = c
        .execute(
            &format!(
                "return fetch('{link}').then(r => r.status + ' ' + r.headers.get('content-type'));"
            ),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(got.as_str(), Some("200 application/pdf"));
    browser.close().await;
}

async fn sign_in(c: &Client, app: &TestApp, who: &str) {
    c.goto(&app.url("/login")).await.unwrap();
    fill(c, "#identifier", who).await;
    fill(c, "#password", motcua_store::demo::DEMO_PASSWORD).await;
    submit(c, "form[action='/login']").await;
    expect_h1(c, "Tài khoản của tôi").await;
}

async fn sign_out(c: &Client) {
    submit(c, "form[action='/logout']").await;
    c.wait()
        .for_element(Locator::LinkText("Đăng nhập"))
        .await
        .unwrap();
}

/// Opens the dossier `code` from the queue at `queue`.
async fn open_from_queue(c: &Client, app: &TestApp, queue: &str, code: &str) {
    c.goto(&app.url(queue)).await.unwrap();
    c.find(Locator::LinkText(code))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    expect_h1(c, &format!("Hồ sơ {code}")).await;
}

/// Waits (up to 10 s) for the page's notice to read `expected`.
async fn expect_notice(c: &Client, expected: &str) {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css("p.notice, p.error")).await {
            if let Ok(text) = e.text().await {
                if text.contains(expected) {
                    return;
                }
                last = text;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("notice '{last}', expected '{expected}'");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reception_specialist_and_leader_take_a_dossier_to_the_citizens_download() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::start(Db::Sqlite).await.unwrap();
    let citizen =
        crate::harness::Session::login(&app, "congdan", motcua_store::demo::DEMO_PASSWORD).await;
    let (id, code) =
        crate::dossiers::submit_to(&app, &citizen, crate::back_office::PROCEDURE).await;
    let page = app.url(&format!("/dossiers/{id}"));
    let c = &browser.client;

    // Reception receives the online dossier, typing the processing time.
    sign_in(c, &app, "tiepnhan").await;
    open_from_queue(c, &app, "/office", &code).await;
    fill(c, "#time_limit", "15 ngày làm việc").await;
    submit(c, "form[action$='/receive']").await;
    expect_notice(c, "Đã tiếp nhận hồ sơ").await;
    sign_out(c).await;

    // The leader finds it in the queue and assigns the specialist.
    sign_in(c, &app, "lanhdao").await;
    open_from_queue(c, &app, "/office/work?tab=assign", &code).await;
    submit(c, "form[action$='/assign']").await;
    expect_notice(c, "Đã phân công chuyên viên").await;
    sign_out(c).await;

    // The specialist examines and proposes.
    sign_in(c, &app, "chuyenvien").await;
    open_from_queue(c, &app, "/office/work?tab=mine", &code).await;
    fill(c, "#pnote", "Hồ sơ đủ điều kiện cấp chứng chỉ").await;
    submit(c, "form[action$='/propose']").await;
    expect_notice(c, "Đã trình kết quả").await;
    sign_out(c).await;

    // The leader approves and issues the result the system generates.
    sign_in(c, &app, "lanhdao").await;
    open_from_queue(c, &app, "/office/work?tab=approval", &code).await;
    submit(c, "form[action$='/approve']").await;
    expect_notice(c, "Đã phê duyệt").await;
    fill(
        c,
        "#rtext",
        "Cấp chứng chỉ hành nghề hoạt động xây dựng hạng II",
    )
    .await;
    submit(c, "form[action*='/result']").await;
    expect_notice(c, "Đã ban hành kết quả").await;
    sign_out(c).await;

    // Reception hands it over online.
    sign_in(c, &app, "tiepnhan").await;
    c.goto(&page).await.unwrap();
    expect_h1(c, &format!("Hồ sơ {code}")).await;
    submit(c, "form[action$='/hand_over']").await;
    expect_notice(c, "Đã trả kết quả").await;
    sign_out(c).await;

    // The citizen downloads the result; the timeline shows every step.
    sign_in(c, &app, "congdan").await;
    c.goto(&page).await.unwrap();
    expect_h1(c, &format!("Hồ sơ {code}")).await;
    let href = c
        .find(Locator::Css("#result-download"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let fetched = c
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             fetch(arguments[0]).then(r => r.arrayBuffer().then(b => done([r.status, r.headers.get('content-type'), new TextDecoder().decode(new Uint8Array(b).slice(0, 5))])));",
            vec![serde_json::json!(href)],
        )
        .await
        .unwrap();
    assert_eq!(
        fetched,
        serde_json::json!([200, "application/pdf", "%PDF-"])
    );
    let text = c
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for step in [
        "Tiếp nhận hồ sơ",
        "Phân công xử lý",
        "Trình kết quả giải quyết",
        "Phê duyệt kết quả",
        "Ban hành kết quả",
        "Trả kết quả",
    ] {
        assert!(text.contains(step), "{step}: {text}");
    }
    let kinds = app.event_kinds(&id).await;
    assert_eq!(
        kinds,
        [
            "create",
            "submit",
            "receive",
            "assign",
            "propose",
            "approve",
            "issue_result",
            "hand_over"
        ]
    );
    assert_eq!(app.store.verify_events().await.unwrap().1, None);
    browser.close().await;
}
