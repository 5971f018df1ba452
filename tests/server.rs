//! `kslint server` through a scripted Language Server Protocol exchange,
//! framed as an editor frames it: initialize, didOpen, didChange, the
//! diagnostics published, a code action, a hover, shutdown and exit.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
}

impl Client {
    fn start(dir: &std::path::Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kslint"))
            .arg("server")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (send, messages) = channel();
        std::thread::spawn(move || {
            loop {
                let mut length = 0usize;
                loop {
                    let mut header = String::new();
                    if stdout.read_line(&mut header).unwrap_or(0) == 0 {
                        return;
                    }
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    if let Some(n) = header.strip_prefix("Content-Length: ") {
                        length = n.parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                stdout.read_exact(&mut body).unwrap();
                if send.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            messages,
        }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next message that `wanted` accepts; others are skipped.
    fn wait(&self, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let message = self
                .messages
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("no {what} from the server"));
            if wanted(&message) {
                return message;
            }
        }
    }

    fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.wait(method, |m| m["id"] == id)
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The first diagnostics published for `uri` that `wanted` accepts
    /// (the server also publishes what is on disk when it starts).
    fn diagnostics(&self, uri: &str, wanted: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let message = self.wait("diagnostics", |m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && wanted(m["params"]["diagnostics"].as_array().unwrap())
        });
        message["params"]["diagnostics"].as_array().unwrap().clone()
    }
}

impl Drop for Client {
    /// A failed test leaves no server behind.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const HARDENED: &str = "apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop}
spec:
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
  containers:
    - name: web
      image: nginx:1.27
      resources: {limits: {memory: 128Mi}}
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: {drop: [ALL]}
";

fn codes(diagnostics: &[Value]) -> Vec<String> {
    diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// Opens `uri` with an unsaved text that makes the container privileged,
/// and returns the `privileged-container` diagnostic published for it.
fn open_privileged(client: &mut Client, uri: &str) -> Value {
    let privileged = HARDENED.replace(
        "allowPrivilegeEscalation: false\n",
        "allowPrivilegeEscalation: false\n        privileged: true\n",
    );
    client.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": privileged}}),
    );
    let found = client.diagnostics(uri, |d| {
        codes(d).contains(&"privileged-container".to_owned())
    });
    found
        .iter()
        .find(|d| d["code"] == "privileged-container")
        .cloned()
        .unwrap_or_else(|| panic!("{found:#?}"))
}

/// Initializes the server for the workspace `root`; its answer.
fn initialize(client: &mut Client, root: &std::path::Path) -> Value {
    let answer = client.request(
        1,
        "initialize",
        json!({"processId": null, "rootUri": format!("file://{}", root.display()), "capabilities": {}}),
    );
    client.notify("initialized", json!({}));
    answer
}

#[test]
fn an_editor_sees_findings_as_it_types() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    std::fs::write(root.join("pod.yaml"), HARDENED).unwrap();
    let uri = format!("file://{}/pod.yaml", root.display());
    let mut client = Client::start(&root);

    let initialized = initialize(&mut client, &root);
    let capabilities = &initialized["result"]["capabilities"];
    assert_eq!(capabilities["hoverProvider"], true, "{initialized}");
    assert_eq!(capabilities["codeActionProvider"], true);

    // An unsaved edit makes the container privileged.
    let finding = open_privileged(&mut client, &uri);
    // 0-based line 12, `true` at character 20.
    assert_eq!(
        finding["range"]["start"],
        json!({"line": 12, "character": 20})
    );
    assert_eq!(finding["severity"], 1);
    assert_eq!(finding["source"], "kslint");

    // Hover over it: the rule's documentation.
    let hover = client.request(
        2,
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 12, "character": 22}}),
    );
    let doc = hover["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_default();
    assert!(doc.contains("privileged"), "{hover}");

    // The code action suppresses the rule on that line, indented as it.
    let actions = client.request(
        3,
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": uri},
            "range": {"start": {"line": 12, "character": 0}, "end": {"line": 12, "character": 0}},
            "context": {"diagnostics": []}
        }),
    );
    let edit = &actions["result"][0]["edit"]["changes"][&uri][0];
    assert_eq!(
        edit["newText"], "        # kslint-ignore privileged-container -- \n",
        "{actions}"
    );
    assert_eq!(edit["range"]["start"], json!({"line": 12, "character": 0}));

    // The edit undone: the finding goes away.
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": HARDENED}]}),
    );
    let after = client.diagnostics(&uri, |_| true);
    assert!(
        !codes(&after).contains(&"privileged-container".to_owned()),
        "{after:#?}"
    );

    // A finding with a fix offers it first: `no` written as Kubernetes
    // reads it.
    let ambiguous = HARDENED.replace(
        "automountServiceAccountToken: false",
        "automountServiceAccountToken: no",
    );
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": ambiguous}]}),
    );
    client.diagnostics(&uri, |d| {
        codes(d).contains(&"yaml-ambiguous-value".to_owned())
    });
    let actions = client.request(
        5,
        "textDocument/codeAction",
        json!({
            "textDocument": {"uri": uri},
            "range": {"start": {"line": 4, "character": 33}, "end": {"line": 4, "character": 33}},
            "context": {"diagnostics": []}
        }),
    );
    let fix = &actions["result"][0];
    assert_eq!(fix["title"], "Fix: write `false`", "{actions}");
    let edit = &fix["edit"]["changes"][&uri][0];
    assert_eq!(edit["newText"], "false");
    assert_eq!(
        edit["range"],
        json!({"start": {"line": 4, "character": 32}, "end": {"line": 4, "character": 34}})
    );

    let shutdown = client.request(4, "shutdown", Value::Null);
    assert!(shutdown.get("error").is_none(), "{shutdown}");
    client.notify("exit", Value::Null);
    let status = client.child.wait().unwrap();
    assert!(status.success());
}

#[test]
fn unsaved_text_of_a_base_reaches_the_kustomize_build() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(dir.path()).unwrap();
    std::fs::create_dir_all(root.join("base")).unwrap();
    std::fs::create_dir_all(root.join("overlay")).unwrap();
    std::fs::write(root.join("base/pod.yaml"), HARDENED).unwrap();
    std::fs::write(
        root.join("base/kustomization.yaml"),
        "resources: [pod.yaml]\n",
    )
    .unwrap();
    std::fs::write(
        root.join("overlay/kustomization.yaml"),
        "namePrefix: dev-\nresources: [../base]\n",
    )
    .unwrap();
    let uri = format!("file://{}/base/pod.yaml", root.display());
    let mut client = Client::start(&root);
    initialize(&mut client, &root);
    // The base is linted through the overlay's build: a finding in it is
    // the build's, traced back, and the build read the unsaved text.
    let finding = open_privileged(&mut client, &uri);
    assert!(
        finding["message"]
            .as_str()
            .unwrap_or_default()
            .contains("dev-"),
        "{finding:#}"
    );
    client.request(2, "shutdown", Value::Null);
    client.notify("exit", Value::Null);
    assert!(client.child.wait().unwrap().success());
}
