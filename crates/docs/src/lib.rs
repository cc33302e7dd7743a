//! Official documents of motcua as PDF with correct Vietnamese text: the one-stop forms Mẫu
//! 01–05 (each with a QR code to the public tracking page), the generated result notice, and the
//! ledger Mẫu 06 as XLSX and CSV. The font (Noto Sans, SIL OFL 1.1) is embedded, so output never depends on the
//! host's fonts; text stays extractable and searchable, as Circular 01/2018 Art. 10 requires.

mod back_office;
mod layout;

pub use back_office::{
    apology, control_sheet, ledger_csv, ledger_xlsx, refusal, result_notice, Apology, ControlRow,
    ControlSheet, LedgerRow, Refusal, ResultNotice,
};

pub use layout::LayoutError;
use layout::{Align, Sheet, Weight};

/// Who issued a form: the one-stop desk and the province it belongs to.
#[derive(Debug, Clone)]
pub struct Issuer {
    /// "UBND TỈNH LẠNG SƠN".
    pub superior: String,
    /// "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG".
    pub desk: String,
}

/// The applicant's block, as Mẫu 01 and 02 print it.
#[derive(Debug, Clone, Default)]
pub struct ApplicantBlock {
    /// Name of the person or organisation.
    pub name: String,
    /// Personal or organisation identification number.
    pub id_number: String,
    /// Address.
    pub address: String,
    /// Phone.
    pub phone: String,
    /// Email.
    pub email: String,
}

/// Everything printed on the receipt, Mẫu 01 "Giấy tiếp nhận hồ sơ và hẹn trả kết quả".
#[derive(Debug, Clone)]
pub struct Receipt {
    /// Issuer.
    pub issuer: Issuer,
    /// Dossier code.
    pub code: String,
    /// Applicant.
    pub applicant: ApplicantBlock,
    /// Requested matter: the procedure's name.
    pub matter: String,
    /// Documents received, in order.
    pub documents: Vec<String>,
    /// Number of sets.
    pub sets: u32,
    /// Statutory processing time as published ("05 ngày làm việc").
    pub time_limit: String,
    /// Receipt time, "hh:mm dd/mm/yyyy".
    pub received_at: String,
    /// Promised return time, "hh:mm dd/mm/yyyy".
    pub due_at: String,
    /// Where the result is collected.
    pub result_place: String,
    /// Logbook volume ("Quyển số") — the year of the register.
    pub book: String,
    /// Entry number in the register.
    pub entry: String,
    /// Receiving officer.
    pub officer: String,
    /// Public tracking address, encoded in the QR code.
    pub tracking_url: String,
}

/// Everything printed on Mẫu 02 "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ".
#[derive(Debug, Clone)]
pub struct SupplementRequest {
    /// Issuer.
    pub issuer: Issuer,
    /// Dossier code.
    pub code: String,
    /// Applicant.
    pub applicant: ApplicantBlock,
    /// Requested matter.
    pub matter: String,
    /// What to add or fix, in order.
    pub items: Vec<String>,
    /// Why.
    pub reason: String,
    /// Contact for help.
    pub contact: String,
    /// Officer who asks.
    pub officer: String,
    /// Date of the request, "dd/mm/yyyy".
    pub date: String,
    /// Public tracking address, encoded in the QR code.
    pub tracking_url: String,
}

pub(crate) const BODY: f32 = 9.5;

pub(crate) fn header(sheet: &mut Sheet, issuer: &Issuer, qr: &str) -> Result<(), LayoutError> {
    sheet.qr_right(qr, 62.0)?;
    sheet.text(&issuer.superior, 8.5, Weight::Regular, Align::Left);
    sheet.text(&issuer.desk, 8.5, Weight::Bold, Align::Left);
    sheet.gap(4.0);
    sheet.text(
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        9.0,
        Weight::Bold,
        Align::Centre,
    );
    sheet.text(
        "Độc lập - Tự do - Hạnh phúc",
        9.0,
        Weight::Bold,
        Align::Centre,
    );
    sheet.rule();
    sheet.gap(6.0);
    Ok(())
}

pub(crate) fn applicant(sheet: &mut Sheet, a: &ApplicantBlock) {
    let or_blank = |s: &str| {
        if s.trim().is_empty() {
            "—".to_owned()
        } else {
            s.to_owned()
        }
    };
    sheet.field("Tên tổ chức, cá nhân", &or_blank(&a.name), BODY);
    sheet.field(
        "Số định danh cá nhân/tổ chức",
        &or_blank(&a.id_number),
        BODY,
    );
    sheet.field("Địa chỉ", &or_blank(&a.address), BODY);
    sheet.field("Số điện thoại", &or_blank(&a.phone), BODY);
    sheet.field("Email", &or_blank(&a.email), BODY);
}

/// The receipt Mẫu 01 as PDF.
pub fn receipt(r: &Receipt) -> Result<Vec<u8>, LayoutError> {
    let mut s = Sheet::new()?;
    header(&mut s, &r.issuer, &r.tracking_url)?;
    s.text(
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        11.0,
        Weight::Bold,
        Align::Centre,
    );
    s.text(
        &format!("Mã hồ sơ: {}", r.code),
        BODY,
        Weight::Bold,
        Align::Centre,
    );
    s.text(
        &format!(
            "(Liên: Lưu/giao khách hàng)   Quyển số: {}   Số thứ tự: {}",
            r.book, r.entry
        ),
        8.0,
        Weight::Regular,
        Align::Centre,
    );
    s.gap(8.0);
    s.text(
        &format!("{} tiếp nhận hồ sơ của:", r.issuer.desk),
        BODY,
        Weight::Regular,
        Align::Left,
    );
    applicant(&mut s, &r.applicant);
    s.field("Nội dung yêu cầu giải quyết", &r.matter, BODY);
    s.text("Thành phần hồ sơ nộp gồm:", BODY, Weight::Bold, Align::Left);
    if r.documents.is_empty() {
        s.text(
            "(không có giấy tờ kèm theo)",
            BODY,
            Weight::Regular,
            Align::Left,
        );
    }
    for (i, d) in r.documents.iter().enumerate() {
        s.text(
            &format!("{}. {d}", i + 1),
            BODY,
            Weight::Regular,
            Align::Left,
        );
    }
    s.field("Số lượng hồ sơ", &format!("{:02} bộ", r.sets), BODY);
    s.field(
        "Thời gian giải quyết hồ sơ theo quy định",
        &r.time_limit,
        BODY,
    );
    s.field("Thời gian nhận hồ sơ", &r.received_at, BODY);
    s.field("Thời gian trả kết quả giải quyết hồ sơ", &r.due_at, BODY);
    s.field("Nhận kết quả tại", &r.result_place, BODY);
    s.field("Tra cứu hồ sơ", &r.tracking_url, BODY);
    s.gap(10.0);
    s.two_columns(
        "NGƯỜI NỘP HỒ SƠ",
        "NGƯỜI TIẾP NHẬN HỒ SƠ",
        BODY,
        Weight::Bold,
    );
    s.two_columns(
        "(Ký và ghi rõ họ tên)",
        "(Ký và ghi rõ họ tên)",
        8.0,
        Weight::Regular,
    );
    s.gap(24.0);
    s.two_columns(&r.applicant.name, &r.officer, BODY, Weight::Regular);
    s.finish()
}

/// The supplement request Mẫu 02 as PDF.
pub fn supplement_request(r: &SupplementRequest) -> Result<Vec<u8>, LayoutError> {
    let mut s = Sheet::new()?;
    header(&mut s, &r.issuer, &r.tracking_url)?;
    s.text(
        "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
        11.0,
        Weight::Bold,
        Align::Centre,
    );
    s.text(
        &format!("Mã hồ sơ: {}", r.code),
        BODY,
        Weight::Bold,
        Align::Centre,
    );
    s.gap(8.0);
    s.text("Hồ sơ của:", BODY, Weight::Regular, Align::Left);
    applicant(&mut s, &r.applicant);
    s.field("Nội dung yêu cầu giải quyết", &r.matter, BODY);
    s.text(
        "Yêu cầu bổ sung, hoàn thiện hồ sơ gồm những nội dung sau:",
        BODY,
        Weight::Bold,
        Align::Left,
    );
    for (i, item) in r.items.iter().enumerate() {
        s.text(
            &format!("{}. {item}", i + 1),
            BODY,
            Weight::Regular,
            Align::Left,
        );
    }
    s.field("Lý do", &r.reason, BODY);
    s.text(
        "Trong quá trình hoàn thiện hồ sơ, nếu có vướng mắc, ông/bà liên hệ:",
        BODY,
        Weight::Regular,
        Align::Left,
    );
    s.text(&r.contact, BODY, Weight::Regular, Align::Left);
    s.field("Tra cứu hồ sơ", &r.tracking_url, BODY);
    s.gap(10.0);
    s.text(
        &format!("Ngày {}", r.date),
        BODY,
        Weight::Regular,
        Align::Centre,
    );
    s.text("NGƯỜI HƯỚNG DẪN", BODY, Weight::Bold, Align::Centre);
    s.gap(24.0);
    s.text(&r.officer, BODY, Weight::Regular, Align::Centre);
    s.finish()
}

/// One task's lines in the consolidated report.
#[derive(Debug, Clone)]
pub struct ReportTask {
    /// "2.1. Xây dựng phóng sự…".
    pub heading: String,
    /// Lead and coordinating agencies, period, channels.
    pub facts: Vec<(String, String)>,
    /// "Chỉ tiêu … đã thực hiện … (83 %)".
    pub targets: Vec<String>,
    /// What the agencies reported, one line each.
    pub reports: Vec<String>,
}

/// The consolidated report on a plan to the Provincial People's Committee.
#[derive(Debug, Clone)]
pub struct PlanReport {
    /// Reporting body ("SỞ KHOA HỌC VÀ CÔNG NGHỆ").
    pub reporter: String,
    /// Superior ("UBND TỈNH LẠNG SƠN").
    pub superior: String,
    /// "Lạng Sơn, ngày 29 tháng 11 năm 2026".
    pub place_date: String,
    /// Plan reported on ("Kế hoạch số 147/KH-UBND ngày 08/11/2018 …").
    pub plan: String,
    /// Reporting period ("đến tháng 11/2026").
    pub period: String,
    /// Tasks in plan order.
    pub tasks: Vec<ReportTask>,
    /// Totals and assessment, one paragraph each.
    pub summary: Vec<String>,
}

/// The consolidated report as an A4 PDF in administrative style.
pub fn plan_report(r: &PlanReport) -> Result<Vec<u8>, LayoutError> {
    let mut s = Sheet::with_size(layout::A4)?;
    s.two_columns(
        &r.superior,
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        10.0,
        Weight::Regular,
    );
    s.two_columns(
        &r.reporter,
        "Độc lập - Tự do - Hạnh phúc",
        10.0,
        Weight::Bold,
    );
    s.gap(6.0);
    s.text(&r.place_date, 10.0, Weight::Regular, Align::Centre);
    s.gap(12.0);
    s.text("BÁO CÁO", 13.0, Weight::Bold, Align::Centre);
    s.text(
        &format!("Kết quả thực hiện {} {}", r.plan, r.period),
        11.0,
        Weight::Bold,
        Align::Centre,
    );
    s.gap(4.0);
    s.text(
        "Kính gửi: Ủy ban nhân dân tỉnh",
        11.0,
        Weight::Regular,
        Align::Centre,
    );
    s.rule();
    s.text(
        "I. KẾT QUẢ THỰC HIỆN CÁC NHIỆM VỤ",
        11.0,
        Weight::Bold,
        Align::Left,
    );
    for t in &r.tasks {
        s.gap(4.0);
        s.text(&t.heading, 10.5, Weight::Bold, Align::Left);
        for (label, value) in &t.facts {
            s.field(label, value, 10.0);
        }
        for line in &t.targets {
            s.text(&format!("- {line}"), 10.0, Weight::Regular, Align::Left);
        }
        if t.reports.is_empty() {
            s.text(
                "- Chưa có báo cáo tiến độ.",
                10.0,
                Weight::Regular,
                Align::Left,
            );
        }
        for line in &t.reports {
            s.text(&format!("+ {line}"), 9.5, Weight::Regular, Align::Left);
        }
    }
    s.gap(6.0);
    s.text("II. ĐÁNH GIÁ CHUNG", 11.0, Weight::Bold, Align::Left);
    for p in &r.summary {
        s.text(p, 10.0, Weight::Regular, Align::Left);
    }
    s.gap(12.0);
    s.two_columns("Nơi nhận:", "NGƯỜI BÁO CÁO", 10.0, Weight::Bold);
    s.two_columns("- UBND tỉnh (báo cáo);", "", 9.0, Weight::Regular);
    s.two_columns("- Lưu: VT.", "", 9.0, Weight::Regular);
    s.finish()
}

/// One row of the consolidated table: a task's target (or the task itself when it has none).
#[derive(Debug, Clone)]
pub struct PlanRow {
    /// Task number.
    pub task: String,
    /// Task title.
    pub title: String,
    /// Lead agencies.
    pub lead: String,
    /// Period as the plan writes it.
    pub period: String,
    /// Target unit and specification ("" when the task has no quantity).
    pub target: String,
    /// Due so far.
    pub expected: i64,
    /// Delivered so far.
    pub delivered: i64,
    /// Delivered as a percentage of due.
    pub percent: i64,
    /// Periods that closed without their quantity.
    pub missing: String,
    /// Money spent on the task, in đồng.
    pub cost_vnd: i64,
}

/// Writes a row of column headers in `format` at `row` and sets each column's width.
pub(crate) fn xlsx_headers(
    sheet: &mut rust_xlsxwriter::Worksheet,
    row: u32,
    headers: &[(&str, f64)],
    format: &rust_xlsxwriter::Format,
) -> Result<(), rust_xlsxwriter::XlsxError> {
    for (col, (h, width)) in headers.iter().enumerate() {
        let col = u16::try_from(col).unwrap_or(u16::MAX);
        sheet.write_string_with_format(row, col, *h, format)?;
        sheet.set_column_width(col, *width)?;
    }
    Ok(())
}

/// The consolidated table as an XLSX workbook (for the office's own spreadsheets).
pub fn plan_report_xlsx(title: &str, rows: &[PlanRow]) -> Result<Vec<u8>, LayoutError> {
    use rust_xlsxwriter::{Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| LayoutError::Pdf(e.to_string());
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    sheet
        .write_string_with_format(0, 0, title, &bold)
        .map_err(fail)?;
    let headers = [
        ("STT", 6.0),
        ("Nhiệm vụ", 50.0),
        ("Cơ quan chủ trì", 30.0),
        ("Thời gian thực hiện", 25.0),
        ("Chỉ tiêu", 30.0),
        ("Phải thực hiện", 12.0),
        ("Đã thực hiện", 12.0),
        ("Tỷ lệ (%)", 10.0),
        ("Kỳ còn thiếu", 30.0),
        ("Kinh phí (đồng)", 16.0),
    ];
    xlsx_headers(sheet, 2, &headers, &bold).map_err(fail)?;
    for (i, r) in rows.iter().enumerate() {
        let row = u32::try_from(i + 3).unwrap_or(u32::MAX);
        sheet.write_string(row, 0, &r.task).map_err(fail)?;
        sheet
            .write_string_with_format(row, 1, &r.title, &wrap)
            .map_err(fail)?;
        sheet
            .write_string_with_format(row, 2, &r.lead, &wrap)
            .map_err(fail)?;
        sheet
            .write_string_with_format(row, 3, &r.period, &wrap)
            .map_err(fail)?;
        sheet
            .write_string_with_format(row, 4, &r.target, &wrap)
            .map_err(fail)?;
        sheet
            .write_number(row, 5, r.expected as f64)
            .map_err(fail)?;
        sheet
            .write_number(row, 6, r.delivered as f64)
            .map_err(fail)?;
        sheet.write_number(row, 7, r.percent as f64).map_err(fail)?;
        sheet
            .write_string_with_format(row, 8, &r.missing, &wrap)
            .map_err(fail)?;
        sheet
            .write_number(row, 9, r.cost_vnd as f64)
            .map_err(fail)?;
    }
    book.save_to_buffer().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Receipt {
        Receipt {
            issuer: Issuer {
                superior: "UBND TỈNH LẠNG SƠN".into(),
                desk: "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG".into(),
            },
            code: "000.00.00.H00-261130-0001".into(),
            applicant: ApplicantBlock {
                name: "Nguyễn Thị Hoà".into(),
                id_number: "020190000123".into(),
                address: "Phường Lương Văn Tri, tỉnh Lạng Sơn".into(),
                phone: "0912345678".into(),
                email: String::new(),
            },
            matter: "Đăng ký khai sinh".into(),
            documents: vec!["Tờ khai đăng ký khai sinh theo mẫu".into(); 3],
            sets: 1,
            time_limit: "03 ngày làm việc".into(),
            received_at: "09:15 30/11/2026".into(),
            due_at: "17:00 03/12/2026".into(),
            result_place: "Trung tâm Phục vụ hành chính công".into(),
            book: "2026".into(),
            entry: "0001".into(),
            officer: "Trần Văn Bình".into(),
            tracking_url: "http://localhost/lookup?code=000.00.00.H00-261130-0001".into(),
        }
    }

    #[test]
    fn a_receipt_and_a_report_are_pdf_documents() {
        // Their text is read back with pdftotext by the integration tests (dossiers, plans).
        let pdf = receipt(&sample()).expect("pdf");
        assert!(pdf.starts_with(b"%PDF-"));
        let tail = &pdf[pdf.len().saturating_sub(32)..];
        assert!(
            tail.windows(5).any(|w| w == b"%%EOF"),
            "a complete PDF ends with %%EOF"
        );
        if let Ok(dir) = std::env::var("MOTCUA_WRITE_SAMPLE_PDF") {
            std::fs::write(std::path::Path::new(&dir).join("receipt.pdf"), &pdf).expect("write");
        }
        let xlsx = plan_report_xlsx("Thử", &[]).expect("xlsx");
        assert_eq!(&xlsx[..2], b"PK");
    }
}
