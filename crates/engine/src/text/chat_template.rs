//! The Gemma 3 chat template, as the model's `tokenizer_config.json` renders it (tested
//! against transformers' `apply_chat_template`).

/// One chat message. `role` is `system`, `user` or `assistant`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: &str) -> Self {
        Self { role: role.into(), content: content.into() }
    }
}

fn python_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace())
}

/// Renders the Gemma 3 chat template (as in the model's `tokenizer_config.json`): a system
/// message is folded into the first user turn; `assistant` is spelled `model`.
pub fn gemma3_chat_template(bos: &str, messages: &[Message], add_generation_prompt: bool) -> std::result::Result<String, String> {
    let mut out = String::from(bos);
    let (prefix, rest) = match messages.first() {
        Some(m) if m.role == "system" => (format!("{}\n\n", m.content), &messages[1..]),
        _ => (String::new(), messages),
    };
    for (i, m) in rest.iter().enumerate() {
        if (m.role == "user") != (i % 2 == 0) {
            return Err("Conversation roles must alternate user/assistant/user/assistant/...".into());
        }
        let role = if m.role == "assistant" { "model" } else { m.role.as_str() };
        out.push_str("<start_of_turn>");
        out.push_str(role);
        out.push('\n');
        if i == 0 {
            out.push_str(&prefix);
        }
        out.push_str(python_strip(&m.content));
        out.push_str("<end_of_turn>\n");
    }
    if add_generation_prompt {
        out.push_str("<start_of_turn>model\n");
    }
    Ok(out)
}

