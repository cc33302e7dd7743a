//! The back office's forms: the refusal Mẫu 03, the apology with a new appointment Mẫu 04, the
//! control sheet Mẫu 05 (built from the dossier's events), the result document the system
//! generates when no signed file is uploaded, and the ledger Mẫu 06 as XLSX and CSV.

use crate::layout::{Align, Sheet, Weight};
use crate::{applicant, header, ApplicantBlock, Issuer, LayoutError, BODY};

/// Mẫu 03 "Phiếu từ chối tiếp nhận giải quyết hồ sơ".
#[derive(Debug, Clone)]
pub struct Refusal {
    /// Issuer.
    pub issuer: Issuer,
    /// Dossier code, if it has one.
    pub code: String,
    /// Applicant.
    pub applicant: ApplicantBlock,
    /// Requested matter.
    pub matter: String,
    /// The specific reasons.
    pub reason: String,
    /// Officer who refused.
    pub officer: String,
    /// "dd/mm/yyyy".
    pub date: String,
    /// Public tracking address (QR).
    pub tracking_url: String,
}

/// Mẫu 04 "Phiếu xin lỗi và hẹn lại ngày trả kết quả".
#[derive(Debug, Clone)]
pub struct Apology {
    /// Issuer: the competent agency.
    pub issuer: Issuer,
    /// Dossier code.
    pub code: String,
    /// Applicant.
    pub applicant: ApplicantBlock,
    /// Procedure name.
    pub matter: String,
    /// When the dossier was received, "hh:mm dd/mm/yyyy".
    pub received_at: String,
    /// The first promised return time.
    pub original_due: String,
    /// The new one.
    pub new_due: String,
    /// Why it is late.
    pub reason: String,
    /// Who signs (the head of the agency).
    pub signer: String,
    /// "dd/mm/yyyy".
    pub date: String,
    /// Public tracking address (QR).
    pub tracking_url: String,
}

/// One row of the control sheet: a hand-over between units or people.
#[derive(Debug, Clone)]
pub struct ControlRow {
    /// Unit that handed over.
    pub unit: String,
    /// Hand-over time, "hh:mm dd/mm/yyyy".
    pub at: String,
    /// Person handing over.
    pub from: String,
    /// Person or unit receiving.
    pub to: String,
    /// What was done.
    pub result: String,
}

/// Mẫu 05 "Phiếu kiểm soát quá trình giải quyết hồ sơ".
#[derive(Debug, Clone)]
pub struct ControlSheet {
    /// Issuer (the desk).
    pub issuer: Issuer,
    /// Dossier code.
    pub code: String,
    /// Competent agency.
    pub agency: String,
    /// Coordinating agencies (liên thông), if any.
    pub coordinating: String,
    /// Received, "hh:mm dd/mm/yyyy".
    pub received_at: String,
    /// Promised return time.
    pub due_at: String,
    /// The trail.
    pub rows: Vec<ControlRow>,
    /// Public tracking address (QR).
    pub tracking_url: String,
}

/// The result document the system issues when the agency does not upload a signed file.
#[derive(Debug, Clone)]
pub struct ResultNotice {
    /// Issuer: the competent agency.
    pub issuer: Issuer,
    /// Dossier code.
    pub code: String,
    /// Applicant.
    pub applicant: ApplicantBlock,
    /// Procedure.
    pub matter: String,
    /// Granted (true) or rejected with reasons.
    pub granted: bool,
    /// The decision text or the reasons of rejection.
    pub text: String,
    /// Who approved and signed.
    pub signer: String,
    /// "dd/mm/yyyy".
    pub date: String,
    /// Public tracking address (QR).
    pub tracking_url: String,
}

fn title(s: &mut Sheet, text: &str, code: &str) {
    s.text(text, 11.0, Weight::Bold, Align::Centre);
    if !code.is_empty() {
        s.text(
            &format!("Mã hồ sơ: {code}"),
            BODY,
            Weight::Bold,
            Align::Centre,
        );
    }
    s.gap(8.0);
}

fn signature(s: &mut Sheet, date: &str, role: &str, name: &str) {
    s.gap(10.0);
    s.text(
        &format!("Ngày {date}"),
        BODY,
        Weight::Regular,
        Align::Centre,
    );
    s.text(role, BODY, Weight::Bold, Align::Centre);
    s.text("(Ký, ghi rõ họ tên)", 8.0, Weight::Regular, Align::Centre);
    s.gap(24.0);
    s.text(name, BODY, Weight::Regular, Align::Centre);
}

/// Mẫu 03 as PDF.
pub fn refusal(r: &Refusal) -> Result<Vec<u8>, LayoutError> {
    let mut s = Sheet::new()?;
    header(&mut s, &r.issuer, &r.tracking_url)?;
    title(&mut s, "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ", &r.code);
    s.text(
        &format!("{} tiếp nhận hồ sơ của:", r.issuer.desk),
        BODY,
        Weight::Regular,
        Align::Left,
    );
    applicant(&mut s, &r.applicant);
    s.field("Nội dung yêu cầu giải quyết", &r.matter, BODY);
    s.text(
        "Sau khi xem xét, đối chiếu hồ sơ với quy định, cơ quan không thể tiếp nhận, giải quyết hồ sơ này vì lý do cụ thể như sau:",
        BODY,
        Weight::Regular,
        Align::Left,
    );
    s.text(&r.reason, BODY, Weight::Bold, Align::Left);
    s.text(
        "Xin thông báo để ông/bà được biết và thực hiện.",
        BODY,
        Weight::Regular,
        Align::Left,
    );
    signature(&mut s, &r.date, "NGƯỜI TIẾP NHẬN", &r.officer);
    s.finish()
}

/// Mẫu 04 as PDF.
pub fn apology(r: &Apology) -> Result<Vec<u8>, LayoutError> {
    let mut s = Sheet::new()?;
    header(&mut s, &r.issuer, &r.tracking_url)?;
    title(&mut s, "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ", &r.code);
    s.text(
        &format!("Kính gửi: {}", r.applicant.name),
        BODY,
        Weight::Bold,
        Align::Left,
    );
    s.field("Ngày tiếp nhận hồ sơ", &r.received_at, BODY);
    s.field("Thủ tục hành chính", &r.matter, BODY);
    s.field("Số định danh", &r.applicant.id_number, BODY);
    s.field("Thời gian hẹn trả kết quả", &r.original_due, BODY);
    s.text(
        &format!(
            "Tuy nhiên đến nay, {} chưa trả kết quả giải quyết hồ sơ cho ông/bà đúng hẹn.",
            r.issuer.desk
        ),
        BODY,
        Weight::Regular,
        Align::Left,
    );
    s.field("Lý do", &r.reason, BODY);
    s.text(
        "Sự chậm trễ này đã gây phiền hà cho ông/bà. Chúng tôi thành thật xin lỗi và hẹn lại thời gian trả kết quả như sau:",
        BODY,
        Weight::Regular,
        Align::Left,
    );
    s.field("Thời gian hẹn trả kết quả mới", &r.new_due, BODY);
    s.text(
        "Rất mong nhận được sự thông cảm của ông/bà.",
        BODY,
        Weight::Regular,
        Align::Left,
    );
    signature(&mut s, &r.date, "THỦ TRƯỞNG CƠ QUAN", &r.signer);
    s.finish()
}

/// Mẫu 05 as PDF.
pub fn control_sheet(c: &ControlSheet) -> Result<Vec<u8>, LayoutError> {
    let mut s = Sheet::new()?;
    header(&mut s, &c.issuer, &c.tracking_url)?;
    title(
        &mut s,
        "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
        &c.code,
    );
    s.field("Cơ quan (bộ phận) giải quyết hồ sơ", &c.agency, BODY);
    s.field(
        "Cơ quan phối hợp giải quyết hồ sơ",
        if c.coordinating.is_empty() {
            "—"
        } else {
            &c.coordinating
        },
        BODY,
    );
    s.field("Thời gian nhận hồ sơ", &c.received_at, BODY);
    s.field("Thời gian hẹn trả kết quả", &c.due_at, BODY);
    s.rule();
    for (i, r) in c.rows.iter().enumerate() {
        s.text(
            &format!("{}. {} — {}", i + 1, r.unit, r.at),
            BODY,
            Weight::Bold,
            Align::Left,
        );
        s.two_columns(
            &format!("Người giao: {}", r.from),
            &format!("Người nhận: {}", r.to),
            8.5,
            Weight::Regular,
        );
        s.text(
            &format!("Kết quả: {}", r.result),
            8.5,
            Weight::Regular,
            Align::Left,
        );
    }
    s.rule();
    s.text(
        "Quá trình được hệ thống thông tin một cửa điện tử ghi nhận tự động.",
        8.0,
        Weight::Regular,
        Align::Left,
    );
    s.finish()
}

/// The generated result document as PDF.
pub fn result_notice(r: &ResultNotice) -> Result<Vec<u8>, LayoutError> {
    let mut s = Sheet::with_size(crate::layout::A4)?;
    header(&mut s, &r.issuer, &r.tracking_url)?;
    let heading = if r.granted {
        "THÔNG BÁO KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
    } else {
        "THÔNG BÁO TỪ CHỐI GIẢI QUYẾT HỒ SƠ"
    };
    title(&mut s, heading, &r.code);
    s.text(
        &format!("Kính gửi: {}", r.applicant.name),
        BODY,
        Weight::Bold,
        Align::Left,
    );
    applicant(&mut s, &r.applicant);
    s.field("Thủ tục hành chính", &r.matter, BODY);
    s.field(
        if r.granted {
            "Kết quả"
        } else {
            "Lý do từ chối giải quyết"
        },
        &r.text,
        BODY,
    );
    signature(&mut s, &r.date, "THỦ TRƯỞNG CƠ QUAN", &r.signer);
    s.finish()
}

/// One line of the ledger Mẫu 06 "Sổ theo dõi hồ sơ".
#[derive(Debug, Clone)]
pub struct LedgerRow {
    /// Dossier code.
    pub code: String,
    /// Procedure name.
    pub procedure: String,
    /// Applicant.
    pub applicant: String,
    /// Address and phone.
    pub contact: String,
    /// Lead agency.
    pub agency: String,
    /// Received, "hh:mm dd/mm/yyyy".
    pub received_at: String,
    /// Promised return time.
    pub due_at: String,
    /// Returned (handed over), if yet.
    pub returned_at: String,
    /// How the result was received.
    pub method: String,
}

const LEDGER_HEADERS: [(&str, f64); 11] = [
    ("STT", 6.0),
    ("Mã hồ sơ", 26.0),
    ("Tên thủ tục hành chính", 45.0),
    ("Tên cá nhân, tổ chức", 26.0),
    ("Địa chỉ, số điện thoại", 32.0),
    ("Cơ quan chủ trì giải quyết", 26.0),
    ("Ngày, tháng, năm nhận hồ sơ", 18.0),
    ("Ngày, tháng, năm hẹn trả kết quả", 18.0),
    ("Ngày, tháng, năm trả kết quả", 18.0),
    ("Hình thức nhận kết quả", 22.0),
    ("Ký nhận", 12.0),
];

fn ledger_cells(i: usize, r: &LedgerRow) -> [String; 11] {
    [
        (i + 1).to_string(),
        r.code.clone(),
        r.procedure.clone(),
        r.applicant.clone(),
        r.contact.clone(),
        r.agency.clone(),
        r.received_at.clone(),
        r.due_at.clone(),
        r.returned_at.clone(),
        r.method.clone(),
        String::new(),
    ]
}

/// Mẫu 06 as an XLSX workbook.
pub fn ledger_xlsx(title: &str, rows: &[LedgerRow]) -> Result<Vec<u8>, LayoutError> {
    use rust_xlsxwriter::{Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| LayoutError::Pdf(e.to_string());
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Sổ theo dõi hồ sơ").map_err(fail)?;
    let bold = Format::new().set_bold().set_text_wrap();
    let wrap = Format::new().set_text_wrap();
    sheet
        .write_string_with_format(0, 0, "SỔ THEO DÕI HỒ SƠ (Mẫu 06)", &bold)
        .map_err(fail)?;
    sheet.write_string(1, 0, title).map_err(fail)?;
    crate::xlsx_headers(sheet, 3, &LEDGER_HEADERS, &bold).map_err(fail)?;
    for (i, r) in rows.iter().enumerate() {
        let row = u32::try_from(i + 4).unwrap_or(u32::MAX);
        for (col, cell) in ledger_cells(i, r).iter().enumerate() {
            let col = u16::try_from(col).unwrap_or(0);
            sheet
                .write_string_with_format(row, col, cell, &wrap)
                .map_err(fail)?;
        }
    }
    book.save_to_buffer().map_err(fail)
}

/// Mẫu 06 as CSV (UTF-8 with a byte-order mark, so spreadsheet programs read the diacritics).
pub fn ledger_csv(rows: &[LedgerRow]) -> Result<Vec<u8>, LayoutError> {
    let fail = |e: csv::Error| LayoutError::Pdf(e.to_string());
    let mut w = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    w.write_record(LEDGER_HEADERS.iter().map(|(h, _)| *h))
        .map_err(fail)?;
    for (i, r) in rows.iter().enumerate() {
        let cells = ledger_cells(i, r);
        w.write_record(
            cells
                .iter()
                .map(|c| motcua_core::text::csv_cell(c).into_owned()),
        )
        .map_err(fail)?;
    }
    w.into_inner().map_err(|e| LayoutError::Pdf(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> Issuer {
        Issuer {
            superior: "UBND TỈNH LẠNG SƠN".into(),
            desk: "SỞ XÂY DỰNG".into(),
        }
    }

    #[test]
    fn the_ledger_has_one_line_per_dossier_in_both_formats() {
        let row = LedgerRow {
            code: "000.00.00.H37-261130-0001".into(),
            procedure: "Cấp mới chứng chỉ hành nghề hoạt động xây dựng".into(),
            applicant: "Nguyễn Văn An".into(),
            contact: "Số 12, Lê Lợi — 0915000001".into(),
            agency: "Sở Xây dựng".into(),
            received_at: "08:00 30/11/2026".into(),
            due_at: "17:00 28/12/2026".into(),
            returned_at: String::new(),
            method: String::new(),
        };
        let csv = ledger_csv(&[row.clone(), row.clone()]).unwrap();
        let text = String::from_utf8(csv[3..].to_vec()).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.contains("Tên thủ tục hành chính"));
        assert!(text
            .lines()
            .nth(2)
            .unwrap()
            .starts_with("2,000.00.00.H37-261130-0001"));
        let xlsx = ledger_xlsx("Sở Xây dựng, 11/2026", &[row]).unwrap();
        assert_eq!(&xlsx[..2], b"PK");
    }

    #[test]
    fn every_form_renders() {
        let a = ApplicantBlock {
            name: "Nguyễn Văn An".into(),
            ..ApplicantBlock::default()
        };
        let apology = apology(&Apology {
            issuer: issuer(),
            code: "X-261130-0001".into(),
            applicant: a.clone(),
            matter: "Cấp phép".into(),
            received_at: "08:00 30/11/2026".into(),
            original_due: "17:00 04/12/2026".into(),
            new_due: "17:00 11/12/2026".into(),
            reason: "Cần xác minh thực địa".into(),
            signer: "Vi Thị Dung".into(),
            date: "02/12/2026".into(),
            tracking_url: "https://example.org/tra-cuu".into(),
        })
        .unwrap();
        assert_eq!(&apology[..5], b"%PDF-");
        let sheet = control_sheet(&ControlSheet {
            issuer: issuer(),
            code: "X-261130-0001".into(),
            agency: "Sở Xây dựng".into(),
            coordinating: String::new(),
            received_at: "08:00 30/11/2026".into(),
            due_at: "17:00 04/12/2026".into(),
            rows: (0..40)
                .map(|i| ControlRow {
                    unit: "Sở Xây dựng".into(),
                    at: format!("08:{i:02} 30/11/2026"),
                    from: "Lý Văn Cường".into(),
                    to: "Vi Thị Dung".into(),
                    result: "Trình kết quả giải quyết".into(),
                })
                .collect(),
            tracking_url: "https://example.org/tra-cuu".into(),
        })
        .unwrap();
        assert_eq!(&sheet[..5], b"%PDF-");
    }
}
