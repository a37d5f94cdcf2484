//! What a server offers (tools, resources, prompts, completion) and the dispatch of a request
//! to them, independent of the transport and of the protocol era.

mod completion;
mod context;
mod dispatch;
mod error;
mod log_level;
mod prompt;
mod request_state;
mod resource;
mod session;
pub mod tasks;
mod tool;

pub use completion::Completer;
pub(crate) use context::ContextParts;
pub use context::{Outbox, RequestContext};
pub use error::HandlerError;
pub use log_level::LogLevel;
pub use prompt::PromptHandler;
pub(crate) use request_state::RequestStateCodec;
pub use resource::ResourceProvider;
pub use session::{Session, SessionError};
pub use tasks::{TaskBook, TaskStep, TaskSupport};
pub use tool::ToolHandler;

/// Part of a server's offer; defined in `protocol` because the result shape reads it.
pub use crate::protocol::shape::CacheHints;

use std::collections::HashMap;
use std::sync::Arc;

use rmcp::model::Implementation;
use serde_json::{Value, json};
use tokio::sync::broadcast;

/// A change that listening clients may want to hear about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeEvent {
    ToolsListChanged,
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated(String),
}

/// Announces [`ChangeEvent`]s to this process's listen streams. Cheap to clone: give one to
/// the handlers that change lists and the same one to the server.
#[derive(Debug, Clone)]
pub struct ChangeNotifier(broadcast::Sender<ChangeEvent>);

impl Default for ChangeNotifier {
    fn default() -> Self {
        Self(broadcast::channel(64).0)
    }
}

impl ChangeNotifier {
    pub fn announce(&self, change: ChangeEvent) {
        // No receiver means no listener: nothing to tell.
        let _ = self.0.send(change);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<ChangeEvent> {
        self.0.subscribe()
    }
}

/// A server's offer: its identity, its handlers and its hints. Cheap to clone.
#[derive(Clone)]
pub struct McpServer {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    info: Implementation,
    instructions: Option<String>,
    tools: Vec<Arc<dyn ToolHandler>>,
    /// Tool and prompt positions by name, built once so a call need not list every tool.
    tool_index: HashMap<String, usize>,
    prompt_index: HashMap<String, usize>,
    resources: Option<Arc<dyn ResourceProvider>>,
    prompts: Vec<Arc<dyn PromptHandler>>,
    completer: Option<Arc<dyn Completer>>,
    cache: CacheHints,
    list_changed: bool,
    /// Whether a stream can carry notifications that answer no request (list changes, resource
    /// updates); without one, the capabilities promise neither.
    change_notifications: bool,
    state_codec: RequestStateCodec,
    changes: ChangeNotifier,
    /// Where tasks live; `None` offers none (the transport sets it from its store).
    tasks: Option<Arc<dyn TaskBook>>,
    /// Overrides every tool's [`ToolHandler::min_step_interval`] (tests poll back to back).
    task_step_interval: Option<std::time::Duration>,
}

/// Builds an [`McpServer`].
pub struct McpServerBuilder {
    inner: Inner,
}

impl McpServer {
    pub fn builder(name: &str, version: &str) -> McpServerBuilder {
        McpServerBuilder {
            inner: Inner {
                info: Implementation::new(name, version),
                instructions: None,
                tools: Vec::new(),
                tool_index: HashMap::new(),
                prompt_index: HashMap::new(),
                resources: None,
                prompts: Vec::new(),
                completer: None,
                cache: CacheHints::default(),
                list_changed: false,
                change_notifications: true,
                state_codec: RequestStateCodec::random(),
                changes: ChangeNotifier::default(),
                tasks: None,
                task_step_interval: None,
            },
        }
    }

    pub fn info(&self) -> &Implementation {
        &self.inner.info
    }

    pub fn instructions(&self) -> Option<&str> {
        self.inner.instructions.as_deref()
    }

    pub(crate) fn cache_hints(&self) -> CacheHints {
        self.inner.cache
    }

    pub(crate) fn state_codec(&self) -> &RequestStateCodec {
        &self.inner.state_codec
    }

    /// This server with `key` sealing `requestState`: for a key known only after the server
    /// was built, such as one read from the shared session store at start-up.
    pub(crate) fn with_request_state_key(mut self, key: Vec<u8>) -> Self {
        Arc::make_mut(&mut self.inner).state_codec = RequestStateCodec::new(key);
        self
    }

    /// This server keeping its tasks in `book`.
    pub(crate) fn with_task_book(mut self, book: Arc<dyn TaskBook>) -> Self {
        Arc::make_mut(&mut self.inner).tasks = Some(book);
        self
    }

    /// This server stepping tasks at most once per `interval`, whatever their tools declare
    /// ([`ToolHandler::min_step_interval`]).
    pub fn with_task_step_interval(mut self, interval: std::time::Duration) -> Self {
        Arc::make_mut(&mut self.inner).task_step_interval = Some(interval);
        self
    }

    /// The least time between two steps of a task of `tool`.
    pub(crate) fn task_step_interval(&self, tool: &dyn ToolHandler) -> std::time::Duration {
        (self.inner.task_step_interval).unwrap_or_else(|| tool.min_step_interval())
    }

    /// Whether any tool runs as a task and there is a book to keep tasks in.
    fn offers_tasks(&self) -> bool {
        self.inner.tasks.is_some()
            && (self.inner.tools.iter()).any(|t| t.task_support() != TaskSupport::Forbidden)
    }

    /// The server's capabilities for a request of `era` at `version`: [`McpServer::capabilities`]
    /// plus tasks as that revision declares them (2026-07-28: the extension; 2025-11-25:
    /// `tasks` with `list`, `cancel` and task-augmented `tools/call`).
    pub fn capabilities_for(&self, era: crate::protocol::version::Era, version: &str) -> Value {
        let mut caps = self.capabilities();
        if self.offers_tasks() {
            match era {
                crate::protocol::version::Era::Modern => {
                    caps["extensions"] = json!({ tasks::TASKS_EXTENSION: {} });
                }
                crate::protocol::version::Era::Legacy if version == "2025-11-25" => {
                    caps["tasks"] = json!({ "list": {}, "cancel": {}, "requests": { "tools": { "call": {} } } });
                }
                crate::protocol::version::Era::Legacy => {}
            }
        }
        caps
    }

    /// This server without change notifications (list changes, resource subscriptions), for a
    /// transport that opens no stream outside a request to carry them: its capabilities
    /// promise neither, and `resources/subscribe` is not offered.
    pub(crate) fn without_change_notifications(mut self) -> Self {
        Arc::make_mut(&mut self.inner).change_notifications = false;
        self
    }

    /// Whether the server may send notifications that answer no request (see
    /// [`McpServer::without_change_notifications`]).
    pub(crate) fn sends_change_notifications(&self) -> bool {
        self.inner.change_notifications
    }

    pub fn tool(&self, name: &str) -> Option<&Arc<dyn ToolHandler>> {
        self.inner
            .tool_index
            .get(name)
            .map(|&i| &self.inner.tools[i])
    }

    pub fn tools(&self) -> &[Arc<dyn ToolHandler>] {
        &self.inner.tools
    }

    pub fn resources(&self) -> Option<&Arc<dyn ResourceProvider>> {
        self.inner.resources.as_ref()
    }

    pub fn prompt(&self, name: &str) -> Option<&Arc<dyn PromptHandler>> {
        self.inner
            .prompt_index
            .get(name)
            .map(|&i| &self.inner.prompts[i])
    }

    pub fn prompts(&self) -> &[Arc<dyn PromptHandler>] {
        &self.inner.prompts
    }

    pub fn completer(&self) -> Option<&Arc<dyn Completer>> {
        self.inner.completer.as_ref()
    }

    /// Receives the changes announced in this process (listen streams use it).
    pub(crate) fn subscribe_changes(&self) -> broadcast::Receiver<ChangeEvent> {
        self.inner.changes.subscribe()
    }

    /// The server's capabilities, derived from what it offers.
    pub fn capabilities(&self) -> Value {
        let pushes = self.inner.change_notifications;
        let list_changed = self.inner.list_changed && pushes;
        let mut caps = json!({ "logging": {} });
        if !self.inner.tools.is_empty() {
            caps["tools"] = json!({ "listChanged": list_changed });
        }
        if self.inner.resources.is_some() {
            caps["resources"] = json!({ "subscribe": pushes, "listChanged": list_changed });
        }
        if !self.inner.prompts.is_empty() {
            caps["prompts"] = json!({ "listChanged": list_changed });
        }
        if self.inner.completer.is_some() {
            caps["completions"] = json!({});
        }
        caps
    }
}

impl McpServerBuilder {
    pub fn title(mut self, title: &str) -> Self {
        self.inner.info.title = Some(title.to_owned());
        self
    }

    pub fn instructions(mut self, text: &str) -> Self {
        self.inner.instructions = Some(text.to_owned());
        self
    }

    pub fn tool(mut self, tool: impl ToolHandler) -> Self {
        self.inner.tools.push(Arc::new(tool));
        self
    }

    pub fn resources(mut self, provider: impl ResourceProvider) -> Self {
        self.inner.resources = Some(Arc::new(provider));
        self
    }

    pub fn prompt(mut self, prompt: impl PromptHandler) -> Self {
        self.inner.prompts.push(Arc::new(prompt));
        self
    }

    pub fn completer(mut self, completer: impl Completer) -> Self {
        self.inner.completer = Some(Arc::new(completer));
        self
    }

    /// Announce `listChanged` for tools, resources and prompts: the server will call
    /// the [`ChangeNotifier`] given to [`McpServerBuilder::notifier`] when its lists change.
    pub fn list_changed(mut self, yes: bool) -> Self {
        self.inner.list_changed = yes;
        self
    }

    /// The notifier through which this server's handlers announce changes.
    pub fn notifier(mut self, notifier: ChangeNotifier) -> Self {
        self.inner.changes = notifier;
        self
    }

    pub(crate) fn cache_hints(mut self, hints: CacheHints) -> Self {
        self.inner.cache = hints;
        self
    }

    /// The key that seals `requestState`; every instance behind one URL needs the same one.
    pub fn request_state_key(mut self, key: Vec<u8>) -> Self {
        self.inner.state_codec = RequestStateCodec::new(key);
        self
    }

    pub fn build(mut self) -> McpServer {
        let inner = &mut self.inner;
        inner.tool_index = (inner.tools.iter().enumerate())
            .map(|(i, t)| (t.definition().name.into_owned(), i))
            .collect();
        inner.prompt_index = (inner.prompts.iter().enumerate())
            .map(|(i, p)| (p.definition().name, i))
            .collect();
        McpServer {
            inner: Arc::new(self.inner),
        }
    }
}
