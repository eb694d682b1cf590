//! *Survey* in production on a messaging channel: the survey is attached (OK), a survey that
//! does not exist takes *Reference not found* (and is a compile warning); once the interaction
//! closes the survey is conducted in the conversation — its questions one by one, a message
//! that is no answer asked again once, then given up (the message opens an interaction), an
//! unanswered one expiring — and the answers are listed and exported as CSV.

use reqwest::Method;
use serde_json::{Value, json};

mod support;

use support::{admin_client, call, callbacks};

/// A survey of three questions: a rating, a choice and free text.
pub fn survey_data() -> Value {
    json!({
        "intro": "Two quick questions about your conversation",
        "questions": [
            {"key": "score", "text": "How would you rate us?", "answer": {"type": "rating", "min": 1, "max": 5}},
            {"key": "solved", "text": "Was your problem solved?", "answer": {"type": "choice", "options": ["Yes", "No"]}},
            {"key": "comment", "text": "Anything to add?", "answer": {"type": "free_text"}}
        ],
        "thanks": "Thank you!"
    })
}

/// Sends `text` and waits until what the customer was sent since is `want` (the messages of
/// one turn are delivered one by one).
async fn says(talk: &mut support::Talk, ep: &str, customer: &str, text: &str, want: &str) {
    let before = talk.got.lock().unwrap().len();
    let mut answer = talk.say(ep, customer, text).await;
    for _ in 0..500 {
        if answer == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        answer = talk.answer(customer, before).await.unwrap_or_default();
    }
    assert_eq!(answer, want, "the answer to {text:?}");
}

async fn responses(base: &str, query: &str) -> Vec<Value> {
    let (s, page) = call(
        base,
        Method::GET,
        &format!("survey-responses?{query}"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_survey_is_conducted_in_the_conversation_once_it_closes_and_its_answers_exported() {
    let server = support::start(runtime::ServiceSettings::default(), support::limits()).await;
    let base = format!("{}/api/v1", server.root);
    let (s, survey) = call(
        &base,
        Method::POST,
        "surveys",
        Some(json!({"reference": "CSAT", "name": "Satisfaction", "data": survey_data()})),
    )
    .await;
    assert_eq!(s, 201, "{survey}");
    let survey_id = survey["id"].as_str().unwrap().to_owned();
    // a survey without questions, or with a rating of one step, is refused
    for data in [
        json!({"questions": []}),
        json!({"questions": [{"key": "a", "text": "?", "answer": {"type": "rating", "min": 3, "max": 3}}]}),
    ] {
        let (s, p) = call(
            &base,
            Method::POST,
            "surveys",
            Some(json!({"reference": "BAD", "name": "Bad", "data": data})),
        )
        .await;
        assert_eq!((s, p["code"].as_str()), (422, Some("invalid_field")), "{p}");
    }

    let (callback_url, got) = callbacks().await;
    let branches = ["ok", "reference_not_found", "error"];
    for (reference, survey) in [("sv", "CSAT"), ("svnope", "NOPE")] {
        let doc = support::chain(
            reference,
            &[(
                "survey",
                json!({"survey": {"by": "reference", "reference": survey}}),
                &branches,
                None,
            )],
            "{{ system.error }}",
        );
        support::http_entry_point(&base, reference, doc, &callback_url).await;
    }
    // a survey that does not exist is a compile warning
    let warned = support::diagnostics(&base, "svnope").await;
    assert!(warned.contains("NOPE"), "{warned}");
    let mut talk = support::Talk::new(&base, &got);
    says(
        &mut talk,
        "svnope",
        "zoe",
        "hi",
        "survey reference_not_found:",
    )
    .await;

    // the routing attaches the survey and ends: the interaction closes and the survey starts
    let opening =
        "survey ok: | Two quick questions about your conversation | How would you rate us?";
    says(&mut talk, "sv", "ann", "hi", opening).await;
    let (_, list) = call(&base, Method::GET, "interactions?limit=50", None).await;
    let first = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["customer"] == "ann")
        .unwrap()
        .clone();
    assert_eq!(first["status"], "closed", "{first}");
    let first_id = first["id"].as_str().unwrap().to_owned();
    let waiting = responses(&base, &format!("survey_id={survey_id}")).await;
    assert_eq!(waiting.len(), 1, "{waiting:?}");
    assert_eq!(waiting[0]["status"], "in_progress");
    assert_eq!(waiting[0]["interaction_id"], first_id.as_str());

    // each answer takes the next question; one that is none is asked again with a hint
    says(&mut talk, "sv", "ann", "4", "Was your problem solved?").await;
    let hint = "Please answer with one of: 1 Yes, 2 No. | Was your problem solved?";
    says(&mut talk, "sv", "ann", "maybe", hint).await;
    says(&mut talk, "sv", "ann", "2", "Anything to add?").await;
    says(&mut talk, "sv", "ann", "=SUM(A1) was fast", "Thank you!").await;
    let done = responses(&base, &format!("survey_id={survey_id}&status=completed")).await;
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(
        done[0]["answers"],
        json!({"score": 4, "solved": "No", "comment": "=SUM(A1) was fast"})
    );
    assert!(done[0]["completed_at"].is_string());
    // the survey is in the closed interaction's history, and no interaction was opened
    let (_, d) = call(
        &base,
        Method::GET,
        &format!("interactions/{first_id}"),
        None,
    )
    .await;
    let notes: Vec<&str> = d["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["type"] == "survey")
        .map(|e| e["event"]["detail"]["note"].as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        [
            "started",
            "answered",
            "not_an_answer",
            "answered",
            "answered",
            "completed"
        ],
        "{d:#}"
    );
    let (_, list) = call(&base, Method::GET, "interactions?limit=50", None).await;
    let anns = |list: &Value| {
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["customer"] == "ann")
            .count()
    };
    assert_eq!(anns(&list), 1);

    // once answered, a message opens an interaction again (whose routing attaches another)
    says(&mut talk, "sv", "ann", "hello again", opening).await;
    let (_, list) = call(&base, Method::GET, "interactions?limit=50", None).await;
    assert_eq!(anns(&list), 2);
    // a message that is no answer twice gives the survey up: the second opens an interaction
    let hint = "Please answer with a number from 1 to 5. | How would you rate us?";
    says(&mut talk, "sv", "ann", "I need help", hint).await;
    says(&mut talk, "sv", "ann", "a human please", opening).await;
    let (_, list) = call(&base, Method::GET, "interactions?limit=50", None).await;
    assert_eq!(anns(&list), 3);
    let given_up = responses(&base, "status=abandoned").await;
    assert_eq!(given_up.len(), 1, "{given_up:?}");

    // unanswered past its expiry (24 hours), a survey is expired and takes no more answers
    server.clock.advance(jiff::SignedDuration::from_hours(25));
    says(&mut talk, "sv", "ann", "5", opening).await;
    let expired = responses(&base, &format!("survey_id={survey_id}&status=expired")).await;
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(responses(&base, "status=in_progress").await.len(), 1);
    assert_eq!(responses(&base, "").await.len(), 4);

    // the export: a column per question, text a spreadsheet would compute written as text
    let r = admin_client()
        .get(format!(
            "{base}/survey-responses/export?survey_id={survey_id}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = r.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "id,interaction_id,customer_id,channel,status,started_at,completed_at,score,solved,comment"
        )
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 4, "{csv}");
    let completed = rows.iter().find(|l| l.contains(",completed,")).unwrap();
    assert!(completed.contains(&first_id), "{completed}");
    assert!(
        completed.ends_with(",4,No,'=SUM(A1) was fast"),
        "{completed}"
    );
    // after a restart the survey still takes the customer's answer (the server learns from
    // the store that surveys are waiting in channels)
    let waiting = responses(&base, "status=in_progress").await;
    let restarted = format!("{}/api/v1", server.restarted().await);
    let body = json!({"message_id": "after-restart", "from": "ann", "text": "3"});
    let r = support::signed(
        admin_client().post(format!("{restarted}/channels/http/sv/messages")),
        &body,
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let receipt: Value = r.json().await.unwrap();
    assert_eq!(receipt["interaction_id"], waiting[0]["interaction_id"]);
    let answered = responses(&base, "status=in_progress").await;
    assert_eq!(answered[0]["answers"], json!({"score": 3}), "{answered:?}");

    // a survey that does not exist has no responses to list or export
    let nobody = uuid::Uuid::now_v7();
    let (s, p) = call(
        &base,
        Method::GET,
        &format!("survey-responses?survey_id={nobody}"),
        None,
    )
    .await;
    assert_eq!((s, p["code"].as_str()), (404, Some("not_found")), "{p}");
    let (s, _) = call(
        &base,
        Method::GET,
        &format!("survey-responses/export?survey_id={nobody}"),
        None,
    )
    .await;
    assert_eq!(s, 404);
}
