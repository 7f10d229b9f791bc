//! Bearer-token authorization with RBAC-style rules.
//!
//! Requests without an `Authorization` header act as a cluster admin (`system:admin`), so
//! test set-up code needs no token. A token that is not registered gets 401; a registered
//! token gets exactly the rights of its rules (403 Forbidden otherwise).

use std::collections::HashMap;

use serde_json::Value;

use super::error::{ApiError, ApiResult};

/// One RBAC policy rule, scoped to a namespace (Role) or the whole cluster (ClusterRole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// API groups (`""` core, `*` any).
    pub api_groups: Vec<String>,
    /// Plural resources (`*` any).
    pub resources: Vec<String>,
    /// Verbs (`*` any).
    pub verbs: Vec<String>,
    /// Restrict to these object names (empty: any).
    pub resource_names: Vec<String>,
    /// `Some(ns)`: only in that namespace (from a Role); `None`: cluster-wide.
    pub namespace: Option<String>,
}

impl Rule {
    /// Every verb on every resource of every group, cluster-wide: for tokens whose permissions
    /// are not what a test is about.
    #[must_use]
    pub fn everything() -> Self {
        let any = || vec!["*".to_owned()];
        Rule {
            api_groups: any(),
            resources: any(),
            verbs: any(),
            resource_names: Vec::new(),
            namespace: None,
        }
    }
}

fn any_or(list: &[String], value: &str) -> bool {
    list.iter().any(|x| x == "*" || x == value)
}

impl Rule {
    /// Whether this rule allows the request.
    pub fn allows(
        &self,
        verb: &str,
        group: &str,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> bool {
        any_or(&self.verbs, verb)
            && any_or(&self.api_groups, group)
            && any_or(&self.resources, resource)
            && (self.resource_names.is_empty() || self.resource_names.iter().any(|n| n == name))
            && self.namespace.as_deref().is_none_or(|ns| namespace == Some(ns))
    }

    /// Reads the `rules` of a Role (namespaced) or ClusterRole (cluster-wide) object.
    pub fn from_role(role: &Value) -> ApiResult<Vec<Self>> {
        let namespace = match role["kind"].as_str() {
            Some("Role") => Some(
                role["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default")
                    .to_string(),
            ),
            Some("ClusterRole") => None,
            other => {
                return Err(ApiError::bad_request(format!(
                    "expected a Role or ClusterRole, got {other:?}"
                )));
            }
        };
        let strings = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        Ok(role["rules"]
            .as_array()
            .map(|rules| {
                rules
                    .iter()
                    .map(|r| Self {
                        api_groups: strings(&r["apiGroups"]),
                        resources: strings(&r["resources"]),
                        verbs: strings(&r["verbs"]),
                        resource_names: strings(&r["resourceNames"]),
                        namespace: namespace.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Reads every Role/ClusterRole in a multi-document YAML string.
    pub fn from_yaml(yaml: &str) -> ApiResult<Vec<Self>> {
        let mut out = Vec::new();
        for doc in
            super::fixtures::parse_yaml_documents(yaml).map_err(|e| ApiError::bad_request(e.to_string()))?
        {
            if matches!(doc["kind"].as_str(), Some("Role" | "ClusterRole")) {
                out.extend(Self::from_role(&doc)?);
            }
        }
        Ok(out)
    }
}

/// The user of requests without a token (they may do anything).
pub const ADMIN: &str = "system:admin";
/// The user of requests with a token that is not registered (answered 401).
pub const ANONYMOUS: &str = "system:anonymous";

/// A user known by its bearer token.
#[derive(Debug, Clone)]
pub struct User {
    /// User name for messages.
    pub name: String,
    /// The user's rules.
    pub rules: Vec<Rule>,
}

/// Token → user table.
#[derive(Debug, Default, Clone)]
pub struct Authorizer {
    users: HashMap<String, User>,
}

/// What a request wants to do, for authorization.
#[derive(Debug)]
pub struct Attributes<'a> {
    /// Kubernetes verb.
    pub verb: &'a str,
    /// API group.
    pub group: &'a str,
    /// Plural resource.
    pub resource: &'a str,
    /// Namespace of the request, if namespaced.
    pub namespace: Option<&'a str>,
    /// Object name (empty for collections).
    pub name: &'a str,
}

/// Outcome of authentication.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed.
    Allow,
    /// Unknown token (401).
    Unauthenticated,
    /// Known user without the right (403); carries the user name.
    Deny(String),
}

impl Authorizer {
    /// Registers a token.
    pub fn add(&mut self, token: &str, user: &str, rules: Vec<Rule>) {
        self.users.insert(
            token.to_string(),
            User {
                name: user.to_string(),
                rules,
            },
        );
    }

    /// The user a bearer token authenticates as: `system:admin` without a token,
    /// `system:anonymous` for a token that is not registered.
    pub fn user_name(&self, token: Option<&str>) -> String {
        match token {
            None => ADMIN.to_string(),
            Some(token) => self
                .users
                .get(token)
                .map_or_else(|| ANONYMOUS.to_string(), |u| u.name.clone()),
        }
    }

    /// Decides a request given its bearer token (`None`: no Authorization header).
    pub fn decide(&self, token: Option<&str>, a: &Attributes<'_>) -> Decision {
        let Some(token) = token else {
            return Decision::Allow;
        };
        let Some(user) = self.users.get(token) else {
            return Decision::Unauthenticated;
        };
        if user
            .rules
            .iter()
            .any(|r| r.allows(a.verb, a.group, a.resource, a.namespace, a.name))
        {
            Decision::Allow
        } else {
            Decision::Deny(user.name.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: team}
rules:
- apiGroups: [\"\"]
  resources: [configmaps]
  verbs: [get, list, watch]
";

    #[test]
    fn a_role_grants_its_verbs_only_in_its_namespace() {
        let mut authz = Authorizer::default();
        authz.add("t", "reloader", Rule::from_yaml(ROLE).unwrap_or_default());
        let attrs = |verb, ns| Attributes {
            verb,
            group: "",
            resource: "configmaps",
            namespace: ns,
            name: "",
        };
        assert_eq!(
            authz.decide(Some("t"), &attrs("list", Some("team"))),
            Decision::Allow
        );
        assert_eq!(
            authz.decide(Some("t"), &attrs("list", Some("other"))),
            Decision::Deny("reloader".into())
        );
        assert_eq!(
            authz.decide(Some("t"), &attrs("patch", Some("team"))),
            Decision::Deny("reloader".into())
        );
        assert_eq!(
            authz.decide(Some("x"), &attrs("list", Some("team"))),
            Decision::Unauthenticated
        );
        assert_eq!(authz.decide(None, &attrs("patch", None)), Decision::Allow);
    }
}
