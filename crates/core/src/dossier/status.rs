//! Where a dossier stands, how it came in, and why a paper dossier was not filed online.

use serde::{Deserialize, Serialize};

/// The status of a dossier. The national status code (DVCQG) is given where one exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Being filled in by the applicant; not yet submitted (no code).
    Draft,
    /// Submitted online, awaiting reception (1 "Mới đăng ký").
    Submitted,
    /// Received by the one-stop desk, awaiting assignment at the competent agency (2).
    Received,
    /// Assigned to a specialist who examines it (4).
    InProgress,
    /// Waiting for another agency's opinion or result (liên thông) (4).
    Consulting,
    /// A result is proposed and waits for the leader's approval (4).
    AwaitingApproval,
    /// Approved: the signed result is being issued (4).
    Approved,
    /// The applicant must add or fix documents (5, Mẫu 02).
    SupplementRequested,
    /// Refused at reception (3, Mẫu 03).
    Refused,
    /// Withdrawn by the applicant; processing stopped (7 → 8, stop notice).
    Withdrawn,
    /// Processed, result ready to hand over (9).
    Decided,
    /// Result handed over (10).
    HandedOver,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 12] = [
        Status::Draft,
        Status::Submitted,
        Status::Received,
        Status::InProgress,
        Status::Consulting,
        Status::AwaitingApproval,
        Status::Approved,
        Status::SupplementRequested,
        Status::Refused,
        Status::Withdrawn,
        Status::Decided,
        Status::HandedOver,
    ];

    /// Database identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Submitted => "submitted",
            Status::Received => "received",
            Status::InProgress => "in_progress",
            Status::Consulting => "consulting",
            Status::AwaitingApproval => "awaiting_approval",
            Status::Approved => "approved",
            Status::SupplementRequested => "supplement_requested",
            Status::Refused => "refused",
            Status::Withdrawn => "withdrawn",
            Status::Decided => "decided",
            Status::HandedOver => "handed_over",
        }
    }

    /// Reads a database identifier.
    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// What citizens read.
    pub fn label_vi(self) -> &'static str {
        match self {
            Status::Draft => "Bản nháp, chưa nộp",
            Status::Submitted => "Đã nộp trực tuyến, chờ tiếp nhận",
            Status::Received => "Đã tiếp nhận, chờ phân công xử lý",
            Status::InProgress => "Đang thẩm định, giải quyết",
            Status::Consulting => "Đang lấy ý kiến cơ quan liên thông",
            Status::AwaitingApproval => "Chờ lãnh đạo phê duyệt",
            Status::Approved => "Đã phê duyệt, đang ban hành kết quả",
            Status::SupplementRequested => "Yêu cầu bổ sung, hoàn thiện hồ sơ",
            Status::Refused => "Không được tiếp nhận",
            Status::Withdrawn => "Đã rút hồ sơ, dừng giải quyết",
            Status::Decided => "Đã giải quyết xong, chờ trả kết quả",
            Status::HandedOver => "Đã trả kết quả",
        }
    }

    /// The status code of the national portal (DVCQG), where one matches.
    pub fn national_code(self) -> Option<u8> {
        match self {
            Status::Draft => None,
            Status::Submitted => Some(1),
            Status::Received => Some(2),
            Status::InProgress
            | Status::Consulting
            | Status::AwaitingApproval
            | Status::Approved => Some(4),
            Status::SupplementRequested => Some(5),
            Status::Refused => Some(3),
            Status::Withdrawn => Some(8),
            Status::Decided => Some(9),
            Status::HandedOver => Some(10),
        }
    }

    /// What the applicant is expected to do next, if anything.
    pub fn applicant_next_step_vi(self) -> Option<&'static str> {
        match self {
            Status::Draft => Some("Hoàn thiện và nộp hồ sơ"),
            Status::SupplementRequested => Some("Bổ sung giấy tờ theo yêu cầu và nộp lại"),
            Status::Decided => Some("Nhận kết quả"),
            _ => None,
        }
    }

    /// Whether the agency is still working on it (the clock runs or waits).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            Status::Submitted
                | Status::Received
                | Status::InProgress
                | Status::Consulting
                | Status::AwaitingApproval
                | Status::Approved
                | Status::SupplementRequested
        )
    }

    /// Whether the competent agency holds it after reception (the statutory clock runs).
    pub fn is_processing(self) -> bool {
        matches!(
            self,
            Status::Received
                | Status::InProgress
                | Status::Consulting
                | Status::AwaitingApproval
                | Status::Approved
        )
    }

    /// Whether it ended without a result (refused at reception, or withdrawn).
    pub fn is_stopped(self) -> bool {
        matches!(self, Status::Refused | Status::Withdrawn)
    }
}

impl TryFrom<String> for Status {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Status::parse(&s).ok_or_else(|| format!("unknown status '{s}'"))
    }
}

/// How a dossier reached the agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Filed online.
    Online,
    /// Brought to the counter.
    Counter,
    /// Sent by post.
    Post,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 3] = [Channel::Online, Channel::Counter, Channel::Post];

    /// Database identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Online => "online",
            Channel::Counter => "counter",
            Channel::Post => "post",
        }
    }

    /// Reads a database identifier.
    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Vietnamese label.
    pub fn label_vi(self) -> &'static str {
        match self {
            Channel::Online => "Trực tuyến",
            Channel::Counter => "Trực tiếp tại Bộ phận Một cửa",
            Channel::Post => "Qua dịch vụ bưu chính",
        }
    }
}

/// Why a paper dossier was not filed online: the figure the outreach work is steered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfflineReason {
    /// No smartphone or computer.
    NoSmartphone,
    /// Did not know the online service exists.
    DidNotKnow,
    /// Found it too hard.
    TooHard,
    /// Wanted advice from an officer.
    NeededAdvice,
    /// Could not pay online.
    PaymentProblem,
    /// Something else.
    Other,
}

impl OfflineReason {
    /// Every reason, in the order the counter shows them.
    pub const ALL: [OfflineReason; 6] = [
        OfflineReason::NoSmartphone,
        OfflineReason::DidNotKnow,
        OfflineReason::TooHard,
        OfflineReason::NeededAdvice,
        OfflineReason::PaymentProblem,
        OfflineReason::Other,
    ];

    /// Database identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            OfflineReason::NoSmartphone => "no_smartphone",
            OfflineReason::DidNotKnow => "did_not_know",
            OfflineReason::TooHard => "too_hard",
            OfflineReason::NeededAdvice => "needed_advice",
            OfflineReason::PaymentProblem => "payment_problem",
            OfflineReason::Other => "other",
        }
    }

    /// Reads a database identifier.
    pub fn parse(s: &str) -> Option<OfflineReason> {
        OfflineReason::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Vietnamese label.
    pub fn label_vi(self) -> &'static str {
        match self {
            OfflineReason::NoSmartphone => "Không có điện thoại thông minh, máy tính",
            OfflineReason::DidNotKnow => "Không biết có dịch vụ trực tuyến",
            OfflineReason::TooHard => "Thấy nộp trực tuyến khó",
            OfflineReason::NeededAdvice => "Cần cán bộ tư vấn",
            OfflineReason::PaymentProblem => "Không thanh toán trực tuyến được",
            OfflineReason::Other => "Lý do khác",
        }
    }
}

/// What the specialist proposes and the leader approves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The request is granted: the result is the document asked for.
    Grant,
    /// The request is rejected after examination, with reasons (từ chối giải quyết).
    Reject,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Outcome; 2] = [Outcome::Grant, Outcome::Reject];

    /// Database identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Grant => "grant",
            Outcome::Reject => "reject",
        }
    }

    /// Reads a database identifier.
    pub fn parse(s: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Vietnamese label.
    pub fn label_vi(self) -> &'static str {
        match self {
            Outcome::Grant => "Giải quyết theo đề nghị",
            Outcome::Reject => "Từ chối giải quyết (có lý do)",
        }
    }
}

/// How the result reaches the applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandOverMethod {
    /// Downloaded from the portal.
    Online,
    /// Collected at the one-stop desk.
    Counter,
    /// Sent by post.
    Post,
}

impl HandOverMethod {
    /// Every method.
    pub const ALL: [HandOverMethod; 3] = [
        HandOverMethod::Online,
        HandOverMethod::Counter,
        HandOverMethod::Post,
    ];

    /// Database identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            HandOverMethod::Online => "online",
            HandOverMethod::Counter => "counter",
            HandOverMethod::Post => "post",
        }
    }

    /// Reads a database identifier.
    pub fn parse(s: &str) -> Option<HandOverMethod> {
        HandOverMethod::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Vietnamese label.
    pub fn label_vi(self) -> &'static str {
        match self {
            HandOverMethod::Online => "Trực tuyến (tải về trên Cổng dịch vụ công)",
            HandOverMethod::Counter => "Trực tiếp tại Bộ phận Một cửa",
            HandOverMethod::Post => "Qua dịch vụ bưu chính",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_read_back() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        for r in OfflineReason::ALL {
            assert_eq!(OfflineReason::parse(r.as_str()), Some(r));
        }
        for o in Outcome::ALL {
            assert_eq!(Outcome::parse(o.as_str()), Some(o));
        }
        for m in HandOverMethod::ALL {
            assert_eq!(HandOverMethod::parse(m.as_str()), Some(m));
        }
        assert_eq!(Status::parse("nonsense"), None);
    }
}
