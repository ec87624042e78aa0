//! Chat messages and how they become one prompt: the model's own template, or a format Quire
//! renders itself for models whose template llama.cpp does not know.

use llama_cpp_2::model::{LlamaChatMessage, LlamaModel};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Message {
        Message {
            role,
            content: content.into(),
        }
    }
}

/// How chat messages become one prompt.
#[derive(Debug, Clone)]
pub enum PromptFormat {
    /// The GGUF's own template, as llama.cpp's template engine applies it.
    Model(String),
    /// Our own rendering of a known format, for models without a template llama.cpp knows.
    Fallback(Fallback),
}

/// Chat formats Quire renders itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// `<start_of_turn>user … <end_of_turn>`; Gemma has no system role, so the system text
    /// opens the first user turn.
    Gemma,
    /// `<|im_start|>role … <|im_end|>`, understood by many small models.
    ChatMl,
}

impl Fallback {
    /// The format suited to a model architecture (from the GGUF's `general.architecture`).
    pub fn for_architecture(architecture: &str) -> Fallback {
        if architecture.starts_with("gemma") {
            Fallback::Gemma
        } else {
            Fallback::ChatMl
        }
    }

    /// The prompt for `messages`, ending with the opening of the assistant's turn.
    pub fn render(self, messages: &[Message]) -> String {
        let mut out = String::new();
        match self {
            Fallback::Gemma => {
                let mut system = String::new();
                for m in messages {
                    match m.role {
                        Role::System => {
                            system.push_str(m.content.trim());
                            system.push_str("\n\n");
                        }
                        Role::User | Role::Assistant => {
                            let role = if m.role == Role::User {
                                "user"
                            } else {
                                "model"
                            };
                            out.push_str("<start_of_turn>");
                            out.push_str(role);
                            out.push('\n');
                            if m.role == Role::User {
                                out.push_str(&std::mem::take(&mut system));
                            }
                            out.push_str(m.content.trim());
                            out.push_str("<end_of_turn>\n");
                        }
                    }
                }
                out.push_str("<start_of_turn>model\n");
            }
            Fallback::ChatMl => {
                for m in messages {
                    out.push_str("<|im_start|>");
                    out.push_str(m.role.as_str());
                    out.push('\n');
                    out.push_str(m.content.trim());
                    out.push_str("<|im_end|>\n");
                }
                out.push_str("<|im_start|>assistant\n");
            }
        }
        out
    }

    /// Text that means the model has started a turn of its own.
    pub(super) fn stop_sequences(self) -> &'static [&'static str] {
        match self {
            Fallback::Gemma => &["<start_of_turn>", "<end_of_turn>"],
            Fallback::ChatMl => &["<|im_start|>", "<|im_end|>"],
        }
    }
}

/// How a model's own template is used: kept when llama.cpp's template engine knows it, else
/// replaced by our rendering of the format its architecture uses.
pub(super) fn prompt_format(model: &LlamaModel, architecture: &str) -> PromptFormat {
    let fallback = PromptFormat::Fallback(Fallback::for_architecture(architecture));
    let Ok(template) = model.chat_template(None) else {
        return fallback;
    };
    let Ok(text) = template.to_string() else {
        return fallback;
    };
    let probe = [
        LlamaChatMessage::new("system".into(), "S".into()),
        LlamaChatMessage::new("user".into(), "U".into()),
    ];
    let probe: Vec<_> = probe.into_iter().filter_map(|m| m.ok()).collect();
    match model.apply_chat_template(&template, &probe, true) {
        Ok(rendered) if rendered.contains('U') => PromptFormat::Model(text),
        _ => fallback,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemma_fallback_puts_the_system_text_in_the_first_user_turn() {
        let prompt = Fallback::Gemma.render(&[
            Message::new(Role::System, "Be brief."),
            Message::new(Role::User, "Hi"),
            Message::new(Role::Assistant, "Hello."),
            Message::new(Role::User, "Why?"),
        ]);
        assert_eq!(
            prompt,
            "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n\
             <start_of_turn>model\nHello.<end_of_turn>\n\
             <start_of_turn>user\nWhy?<end_of_turn>\n<start_of_turn>model\n"
        );
        let chatml = Fallback::ChatMl.render(&[Message::new(Role::User, "Hi")]);
        assert_eq!(
            chatml,
            "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }
}
