//! The procedure model.

use crate::calendar::deadline::TimeLimit;
use serde::{Deserialize, Serialize};

/// Implementing level (cấp thực hiện). No district level since July 2025.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Cấp tỉnh.
    Province,
    /// Cấp xã.
    Commune,
    /// Cơ quan khác (police, tax, social insurance, …).
    Other,
}

impl Level {
    /// Every level.
    pub const ALL: [Level; 3] = [Level::Province, Level::Commune, Level::Other];

    /// Identifier used in files, the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Province => "province",
            Level::Commune => "commune",
            Level::Other => "other",
        }
    }

    /// Vietnamese label.
    pub fn label_vi(self) -> &'static str {
        match self {
            Level::Province => "Cấp tỉnh",
            Level::Commune => "Cấp xã",
            Level::Other => "Cơ quan khác",
        }
    }

    /// Parses the identifier.
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

/// Online mode under Decree 42/2022 (toàn trình / một phần). Old level 4 → full, 3 → partial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnlineMode {
    /// DVCTT toàn trình: submitted, handled and returned online.
    Full,
    /// DVCTT một phần: some step needs presence.
    Partial,
    /// Not online: apply at the counter or by post.
    None,
}

impl OnlineMode {
    /// Every mode.
    pub const ALL: [OnlineMode; 3] = [OnlineMode::Full, OnlineMode::Partial, OnlineMode::None];

    /// Identifier used in files, the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            OnlineMode::Full => "full",
            OnlineMode::Partial => "partial",
            OnlineMode::None => "none",
        }
    }

    /// Vietnamese label.
    pub fn label_vi(self) -> &'static str {
        match self {
            OnlineMode::Full => "Dịch vụ công trực tuyến toàn trình",
            OnlineMode::Partial => "Dịch vụ công trực tuyến một phần",
            OnlineMode::None => "Nộp trực tiếp hoặc qua bưu chính",
        }
    }

    /// Parses the identifier.
    pub fn parse(s: &str) -> Option<OnlineMode> {
        OnlineMode::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// Whether a citizen can submit online.
    pub fn is_online(self) -> bool {
        self != OnlineMode::None
    }
}

/// Proactive online-service level of Decree 224/2026 art. 16 — a different concept from the old
/// levels 1–4 and from [`OnlineMode`], hence its own type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProactiveLevel {
    /// 1: the agency reminds the user.
    Remind,
    /// 2: reminds and pre-fills the dossier.
    Prefill,
    /// 3: also recommends the best option.
    Recommend,
    /// 4: acts automatically; the citizen confirms, refuses or corrects.
    Automatic,
}

/// How a required document is supplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentForm {
    /// Bản chính.
    Original,
    /// Bản sao (chứng thực or from the master register).
    Copy,
    /// Bản chính hoặc bản sao.
    OriginalOrCopy,
    /// Xuất trình: shown for comparison, not kept.
    Shown,
}

impl DocumentForm {
    /// Vietnamese label.
    pub fn label_vi(self) -> &'static str {
        match self {
            DocumentForm::Original => "Bản chính",
            DocumentForm::Copy => "Bản sao",
            DocumentForm::OriginalOrCopy => "Bản chính hoặc bản sao",
            DocumentForm::Shown => "Xuất trình",
        }
    }
}

/// A document the dossier must contain (thành phần hồ sơ).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredDocument {
    /// Name.
    pub name: String,
    /// Original, copy, …
    pub form: DocumentForm,
    /// Number of copies.
    pub copies: u8,
    /// File name of the template (mẫu đơn, tờ khai), if there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

/// One fee or charge (phí, lệ phí).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    /// What it is for, e.g. "Nộp trực tiếp", "Nộp trực tuyến", "Lệ phí".
    pub label: String,
    /// Amount in đồng when the published text gives one; 0 for an exemption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_vnd: Option<i64>,
    /// Unit or conditions as published ("/giao dịch", "tối đa 200.000 đồng/bản").
    #[serde(default)]
    pub note: String,
}

/// The type of an online-form field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum FieldKind {
    /// Free text.
    Text,
    /// Multi-line text.
    Textarea,
    /// Whole number.
    Number,
    /// A date.
    Date,
    /// Citizen identification number (CCCD, 12 digits).
    Cccd,
    /// Phone number.
    Phone,
    /// Email address.
    Email,
    /// One of fixed options.
    Select {
        /// The options.
        options: Vec<String>,
    },
    /// A commune or ward of the province.
    AdminUnit,
}

/// One field of a procedure's online form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormField {
    /// Key in the submitted data (ASCII, snake_case).
    pub key: String,
    /// Vietnamese label.
    pub label: String,
    /// Type.
    #[serde(flatten)]
    pub kind: FieldKind,
    /// Must be filled.
    #[serde(default)]
    pub required: bool,
    /// Help shown under the field.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help: String,
    /// Maximum length for text fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
}

/// Everything a procedure publishes. Empty values mean "not published yet" (chưa cập nhật): the
/// catalogue never invents a value its source does not give.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Procedure {
    /// National code from the National TTHC Database, e.g. "1.001193".
    pub code: String,
    /// Name.
    pub name: String,
    /// Field (lĩnh vực).
    pub field: String,
    /// Implementing levels.
    #[serde(default)]
    pub levels: Vec<Level>,
    /// The Lạng Sơn agency that decides (code of an agency).
    pub agency_code: String,
    /// Processing time, when the published text states one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit: Option<TimeLimit>,
    /// Processing time as published.
    #[serde(default)]
    pub time_text: String,
    /// Fees and charges, where the text gives amounts.
    #[serde(default)]
    pub fees: Vec<Fee>,
    /// Fees as published.
    #[serde(default)]
    pub fee_text: String,
    /// Required documents.
    #[serde(default)]
    pub required_documents: Vec<RequiredDocument>,
    /// Steps (trình tự thực hiện).
    #[serde(default)]
    pub steps: Vec<String>,
    /// The result (kết quả), e.g. "Giấy khai sinh".
    #[serde(default)]
    pub result: String,
    /// Legal basis (căn cứ pháp lý).
    #[serde(default)]
    pub legal_basis: Vec<String>,
    /// Who may apply (đối tượng thực hiện).
    #[serde(default)]
    pub applicants: String,
    /// Online mode.
    pub online_mode: Option<OnlineMode>,
    /// Decree 224/2026 proactive level, where assessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proactive_level: Option<ProactiveLevel>,
    /// The online form.
    #[serde(default)]
    pub form: Vec<FormField>,
}

/// Why a procedure is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcedureError {
    /// The code is not of the national form.
    #[error("code '{0}' is not a national procedure code like 1.001193")]
    BadCode(String),
    /// A required text is empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// Two form fields share a key, or a key is not ASCII snake_case.
    #[error("form field key '{0}' is invalid or repeated (use unique lowercase ASCII snake_case)")]
    BadFormKey(String),
    /// A required document asks for no copies.
    #[error("required document '{0}' must ask for at least one copy")]
    NoCopies(String),
    /// A processing time that the calendar refuses.
    #[error("processing time: {0}")]
    TimeLimit(String),
    /// A negative fee.
    #[error("fee '{0}' has a negative amount")]
    NegativeFee(String),
}

/// Whether `code` has the national form: digit, dot, six digits (e.g. 1.001193, 2.000908).
pub fn is_national_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 8 && b[0].is_ascii_digit() && b[1] == b'.' && b[2..].iter().all(u8::is_ascii_digit)
}

impl Procedure {
    /// Checks the invariants every stored procedure keeps.
    pub fn validate(&self) -> Result<(), ProcedureError> {
        if !is_national_code(&self.code) {
            return Err(ProcedureError::BadCode(self.code.clone()));
        }
        if self.name.trim().is_empty() {
            return Err(ProcedureError::Empty("name"));
        }
        if self.agency_code.trim().is_empty() {
            return Err(ProcedureError::Empty("agency"));
        }
        if let Some(limit) = &self.time_limit {
            limit
                .validate()
                .map_err(|e| ProcedureError::TimeLimit(e.to_string()))?;
        }
        if let Some(f) = self
            .fees
            .iter()
            .find(|f| f.amount_vnd.is_some_and(|a| a < 0))
        {
            return Err(ProcedureError::NegativeFee(f.label.clone()));
        }
        if let Some(d) = self.required_documents.iter().find(|d| d.copies == 0) {
            return Err(ProcedureError::NoCopies(d.name.clone()));
        }
        let mut keys = std::collections::HashSet::new();
        for f in &self.form {
            let ok = !f.key.is_empty()
                && f.key
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                && keys.insert(f.key.as_str());
            if !ok {
                return Err(ProcedureError::BadFormKey(f.key.clone()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Procedure {
        Procedure {
            code: "1.001193".into(),
            name: "Thủ tục đăng ký khai sinh".into(),
            field: "Hộ tịch".into(),
            levels: vec![Level::Commune],
            agency_code: "ubnd-xa".into(),
            time_limit: None,
            time_text: String::new(),
            fees: vec![],
            fee_text: String::new(),
            required_documents: vec![],
            steps: vec![],
            result: String::new(),
            legal_basis: vec![],
            applicants: String::new(),
            online_mode: Some(OnlineMode::Full),
            proactive_level: None,
            form: vec![],
        }
    }

    #[test]
    fn national_codes_are_recognised() {
        assert!(is_national_code("1.001193"));
        assert!(is_national_code("2.000908"));
        for bad in [
            "",
            "1001193",
            "1.00119",
            "1.0011934",
            "x.001193",
            "1,001193",
        ] {
            assert!(!is_national_code(bad), "{bad}");
        }
    }

    #[test]
    fn validation_names_the_problem() {
        assert_eq!(sample().validate(), Ok(()));
        let mut p = sample();
        p.code = "ABC".into();
        assert_eq!(p.validate(), Err(ProcedureError::BadCode("ABC".into())));
        let mut p = sample();
        p.name = "  ".into();
        assert_eq!(p.validate(), Err(ProcedureError::Empty("name")));
        let mut p = sample();
        p.fees.push(Fee {
            label: "Lệ phí".into(),
            amount_vnd: Some(-1),
            note: String::new(),
        });
        assert_eq!(
            p.validate(),
            Err(ProcedureError::NegativeFee("Lệ phí".into()))
        );
        let mut p = sample();
        let field = FormField {
            key: "ho_ten".into(),
            label: "Họ tên".into(),
            kind: FieldKind::Text,
            required: true,
            help: String::new(),
            max_length: None,
        };
        p.form = vec![field.clone(), field];
        assert_eq!(
            p.validate(),
            Err(ProcedureError::BadFormKey("ho_ten".into()))
        );
    }

    #[test]
    fn json_round_trips() {
        let p = sample();
        let json = serde_json::to_string(&p).unwrap_or_default();
        assert_eq!(serde_json::from_str::<Procedure>(&json).ok(), Some(p));
    }
}
