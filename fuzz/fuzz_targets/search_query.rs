//! What people type in the search box, against a small catalogue: any text, any page.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motcua_core::catalogue::search::{highlight, Document, Facets, Query, SearchIndex};
use motcua_core::catalogue::Level;
use std::sync::OnceLock;

fn index() -> &'static SearchIndex {
    static INDEX: OnceLock<SearchIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let names = [
            ("Đăng ký khai sinh", "Hộ tịch"),
            ("Cấp bản sao trích lục hộ tịch", "Hộ tịch"),
            ("Cấp giấy phép xây dựng nhà ở riêng lẻ", "Xây dựng"),
            (
                "Đăng ký thành lập hộ kinh doanh",
                "Thành lập và hoạt động của hộ kinh doanh",
            ),
            (
                "Cấp Phiếu lý lịch tư pháp cho công dân Việt Nam",
                "Lý lịch tư pháp",
            ),
            (
                "Chứng thực bản sao từ bản chính giấy tờ, văn bản",
                "Chứng thực",
            ),
        ];
        let docs: Vec<Document> = names
            .iter()
            .map(|(name, field)| Document {
                name: (*name).to_owned(),
                other: vec![(*field).to_owned()],
                facets: Facets {
                    field: (*field).to_owned(),
                    agency: "ubnd-xa".to_owned(),
                    levels: vec![Level::Commune],
                    mode: None,
                },
            })
            .collect();
        SearchIndex::build(&docs)
    })
}

fuzz_target!(|input: (String, u8, u8)| {
    let (text, page, per_page) = input;
    let q = Query {
        text: &text,
        page: usize::from(page),
        per_page: usize::from(per_page),
        ..Query::default()
    };
    let results = index().search(&q);
    assert!(results.hits.len() <= results.total);
    for hit in &results.hits {
        let _ = index().highlight_name(hit.doc, &results);
    }
    let _ = highlight(&text, &results);
});
