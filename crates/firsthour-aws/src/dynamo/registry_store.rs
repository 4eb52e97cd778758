//! The refreshed .gov registry's port: the accepted copy and the last
//! refresh's outcome, two items under `pk = REGISTRY`.

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use firsthour::ports::RegistryStore;
use firsthour::sector::refresh::{RefreshReport, StoredRegistry};

use super::*;
use crate::table::registry::{
    COPY_SK, FETCHED_AT_MS, REFRESH_SK, REGISTRY_PK, RefreshItem, RegistryCopyItem,
};

impl RegistryStore for DynamoLeadStore {
    async fn stored_registry(&self) -> Result<Option<StoredRegistry>, StoreError> {
        let item: Option<RegistryCopyItem> = self
            .read_item(REGISTRY_PK.to_owned(), COPY_SK, "registry")
            .await?;
        item.map(StoredRegistry::try_from).transpose()
    }

    async fn store_registry(&self, copy: &StoredRegistry) -> Result<bool, StoreError> {
        let item = to_item(&RegistryCopyItem::from(copy))?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR #fetched < :fetched")
            .expression_attribute_names("#fetched", FETCHED_AT_MS)
            .expression_attribute_values(
                ":fetched",
                AttributeValue::N(copy.fetched_at.as_millisecond().to_string()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Ok(false)
            }
            Err(err) => Err(store_error(&err)),
        }
    }

    async fn record_refresh(&self, report: &RefreshReport) -> Result<(), StoreError> {
        let item = to_item(&RefreshItem::from(report))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|err| store_error(&err))?;
        Ok(())
    }

    async fn last_refresh(&self) -> Result<Option<RefreshReport>, StoreError> {
        let item: Option<RefreshItem> = self
            .read_item(REGISTRY_PK.to_owned(), REFRESH_SK, "refresh")
            .await?;
        item.map(RefreshReport::try_from).transpose()
    }
}
