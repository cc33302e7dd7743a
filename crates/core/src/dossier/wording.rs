//! Words for people, in one place: the notices an applicant receives (in the app, by email or
//! SMS), rendered from a template key and its values, and the dates as the forms print them.
//! Transitions carry [`Notice`]s, never text, so a channel or a language can render them anew.

use super::{Action, HandOverMethod, Outcome};
use crate::calendar::deadline::VIETNAM;
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// "hh:mm dd/mm/yyyy" in Vietnam's time, as the forms print it.
pub fn format_local(t: OffsetDateTime) -> String {
    let l = t.to_offset(VIETNAM);
    format!(
        "{:02}:{:02} {:02}/{:02}/{}",
        l.hour(),
        l.minute(),
        l.day(),
        u8::from(l.month()),
        l.year()
    )
}

/// "dd/mm/yyyy" in Vietnam's time: the date line of a form.
pub fn format_day(t: OffsetDateTime) -> String {
    let l = t.to_offset(VIETNAM);
    format!("{:02}/{:02}/{}", l.day(), u8::from(l.month()), l.year())
}

/// Whom a notice is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addressee {
    /// The dossier's applicant: their account's inbox, and their email or phone.
    Applicant,
}

/// A notice to send: what it is about and the values its text needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The action it announces (its template).
    pub action: Action,
    /// To whom.
    pub to: Addressee,
    /// Named values: `code`, `procedure`, and per template `due`, `items`, `reason`,
    /// `outcome`, `method`.
    pub values: BTreeMap<&'static str, String>,
}

impl Notice {
    /// The template key, stable across releases (outbox rows and logs name it).
    pub fn template(&self) -> &'static str {
        self.action.as_str()
    }

    fn value(&self, key: &str) -> &str {
        self.values.get(key).map_or("", String::as_str)
    }

    /// Title and body in Vietnamese.
    pub fn render_vi(&self) -> (String, String) {
        let code = self.value("code");
        let reason = self.value("reason");
        let title = match self.action {
            Action::Submit => format!("Đã nộp hồ sơ {code}"),
            Action::Receive => format!("Hồ sơ {code} đã được tiếp nhận"),
            Action::RequestSupplement => format!("Hồ sơ {code} cần bổ sung"),
            Action::Resubmit => format!("Đã nộp bổ sung hồ sơ {code}"),
            Action::Refuse => format!("Hồ sơ {code} không được tiếp nhận"),
            Action::Withdraw => format!("Hồ sơ {code} đã dừng giải quyết"),
            Action::IssueResult => format!("Hồ sơ {code} đã có kết quả"),
            Action::HandOver => format!("Đã trả kết quả hồ sơ {code}"),
            Action::ApologiseAndReschedule => {
                format!("Thư xin lỗi và hẹn lại ngày trả kết quả hồ sơ {code}")
            }
            _ => format!("Hồ sơ {code} được cập nhật"),
        };
        let mut body = format!("Thủ tục: {}. ", self.value("procedure"));
        match self.action {
            Action::Submit => body.push_str(
                "Hồ sơ đang chờ cơ quan tiếp nhận. Bạn sẽ được báo khi hồ sơ được tiếp nhận.",
            ),
            Action::Receive => {
                if let Some(due) = self.values.get("due") {
                    body.push_str(&format!("Hạn trả kết quả: {due}."));
                }
            }
            Action::RequestSupplement => {
                body.push_str("Cần bổ sung, hoàn thiện: ");
                body.push_str(self.value("items"));
                if !reason.is_empty() {
                    body.push_str(&format!(". Lý do: {reason}"));
                }
                body.push('.');
            }
            Action::Resubmit => body.push_str("Hồ sơ bổ sung đã được ghi nhận."),
            Action::Refuse => body.push_str(&format!("Lý do: {reason}.")),
            Action::Withdraw => {
                body.push_str("Thông báo dừng giải quyết hồ sơ theo yêu cầu rút hồ sơ.")
            }
            Action::IssueResult => body.push_str(
                if Outcome::parse(self.value("outcome")) == Some(Outcome::Reject) {
                    "Cơ quan đã có văn bản trả lời (từ chối giải quyết, có nêu lý do). Mời ông/bà nhận kết quả."
                } else {
                    "Kết quả giải quyết đã sẵn sàng. Mời ông/bà nhận kết quả."
                },
            ),
            Action::HandOver => {
                if HandOverMethod::parse(self.value("method")) == Some(HandOverMethod::Online) {
                    body.push_str("Kết quả đã được trả trực tuyến; ông/bà tải về tại trang hồ sơ.");
                } else {
                    body.push_str("Kết quả đã được trả. Cảm ơn ông/bà đã sử dụng dịch vụ.");
                }
            }
            Action::ApologiseAndReschedule => body.push_str(&format!(
                "Cơ quan xin lỗi vì chưa trả kết quả đúng hẹn. Lý do: {reason}. Ngày hẹn trả kết quả mới: {}.",
                self.value("due")
            )),
            _ => {}
        }
        (title, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_supplement_notice_lists_the_items_and_the_reason() {
        let n = Notice {
            action: Action::RequestSupplement,
            to: Addressee::Applicant,
            values: [
                ("code", "000.00.00.H37-261207-0001"),
                ("procedure", "Cấp giấy phép xây dựng"),
                ("items", "Bản vẽ; Bản sao sổ đỏ"),
                ("reason", "Thiếu bản vẽ mặt bằng"),
            ]
            .into_iter()
            .map(|(k, v)| (k, v.to_owned()))
            .collect(),
        };
        let (title, body) = n.render_vi();
        assert_eq!(title, "Hồ sơ 000.00.00.H37-261207-0001 cần bổ sung");
        assert_eq!(
            body,
            "Thủ tục: Cấp giấy phép xây dựng. Cần bổ sung, hoàn thiện: Bản vẽ; Bản sao sổ đỏ. Lý do: Thiếu bản vẽ mặt bằng."
        );
        assert_eq!(n.template(), "request_supplement");
    }
}
