//! Files administrators upload for business objects to refer to: the attachments of email
//! templates. A file is kept until deleted, and cannot be deleted while a template refers to
//! it; a template can only refer to files that exist, within its count and size limits.

use flow::FieldError;
use flow::catalogue::ObjectKind;
use flow::objects::{EmailTemplateData, check_file_name, limits};
use store::{FileInfo, Page, PageRequest, StoreError, StoredFile};
use uuid::Uuid;

use crate::maker::{Maker, MakerError, Result};

/// A content type as a MIME header carries it: `type/subtype`, token characters only.
fn check_content_type(value: &str) -> Result<String> {
    let v = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    match v.split_once('/') {
        Some((t, s)) if v.len() <= 127 && token(t) && token(s) => Ok(v),
        _ => Err(FieldError {
            field: "content_type",
            message: format!("'{value}' is not a content type (type/subtype)"),
        }
        .into()),
    }
}

impl Maker {
    /// Keeps an uploaded file.
    pub async fn create_file(
        &self,
        name: &str,
        content_type: Option<&str>,
        data: Vec<u8>,
    ) -> Result<FileInfo> {
        let name = check_file_name(name)?;
        let content_type = check_content_type(content_type.unwrap_or("application/octet-stream"))?;
        if data.is_empty() {
            return Err(FieldError {
                field: "body",
                message: "the file is empty".into(),
            }
            .into());
        }
        if data.len() > limits::FILE_BYTES {
            return Err(MakerError::Limit(format!(
                "a file has at most {} bytes",
                limits::FILE_BYTES
            )));
        }
        if self.store().count_files().await? >= limits::FILES {
            return Err(MakerError::Limit(format!(
                "at most {} files",
                limits::FILES
            )));
        }
        let info = FileInfo {
            id: Uuid::now_v7(),
            name,
            content_type,
            size: data.len() as u64,
            created_at: self.clock().now(),
        };
        self.store()
            .put_file(&StoredFile {
                info: info.clone(),
                data,
            })
            .await?;
        Ok(info)
    }

    pub async fn files(&self, page: &PageRequest) -> Result<Page<FileInfo>> {
        Ok(self.store().files(page).await?)
    }

    /// A file with its bytes.
    pub async fn file(&self, id: Uuid) -> Result<StoredFile> {
        self.store()
            .file(id)
            .await?
            .ok_or_else(|| MakerError::NotFound(format!("file {id}")))
    }

    /// Deletes a file no email template refers to.
    pub async fn delete_file(&self, id: Uuid) -> Result<()> {
        if let Some(user) = self.templates_with(id).await?.into_iter().next() {
            return Err(MakerError::InUse(format!(
                "the file {id} is an attachment of the email template '{user}'"
            )));
        }
        match self.store().delete_file(id).await {
            Err(StoreError::Conflict) => Err(MakerError::NotFound(format!("file {id}"))),
            other => Ok(other?),
        }
    }

    /// The references of the email templates that attach file `id`.
    async fn templates_with(&self, id: Uuid) -> Result<Vec<String>> {
        let mut users = Vec::new();
        let mut page = PageRequest {
            limit: 1_000,
            after: None,
        };
        loop {
            let p = self
                .store()
                .objects(ObjectKind::EmailTemplate, &page)
                .await?;
            users.extend(p.items.iter().filter_map(|o| {
                serde_json::from_value::<EmailTemplateData>(o.data.clone())
                    .ok()
                    .filter(|t| t.attachments.contains(&id))
                    .map(|_| o.reference.clone())
            }));
            match p.next_after {
                Some(after) => page.after = Some(after),
                None => return Ok(users),
            }
        }
    }

    /// What a business object's checked data refers to outside itself exists: the files an
    /// email template attaches, within their size limit together.
    pub(crate) async fn check_links(
        &self,
        kind: ObjectKind,
        data: &serde_json::Value,
    ) -> Result<()> {
        if kind != ObjectKind::EmailTemplate {
            return Ok(());
        }
        let Ok(t) = serde_json::from_value::<EmailTemplateData>(data.clone()) else {
            return Ok(());
        };
        if t.attachments.is_empty() {
            return Ok(());
        }
        let found = self.store().file_infos(&t.attachments).await?;
        if let Some(missing) = t
            .attachments
            .iter()
            .find(|id| !found.iter().any(|f| f.id == **id))
        {
            return Err(FieldError {
                field: "data",
                message: format!("attachments: no file {missing}"),
            }
            .into());
        }
        let total: u64 = found.iter().map(|f| f.size).sum();
        if total > limits::EMAIL_ATTACHMENT_BYTES {
            return Err(FieldError {
                field: "data",
                message: format!(
                    "attachments: {total} bytes together, more than {}",
                    limits::EMAIL_ATTACHMENT_BYTES
                ),
            }
            .into());
        }
        Ok(())
    }
}
