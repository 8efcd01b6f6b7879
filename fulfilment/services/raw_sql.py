"""The two statements fulfilment writes in SQL rather than through the ORM, each for a measured reason.

- `bulk_update_rows`: every re-plan writes back the lines and orders whose planned times moved. Django's
  `bulk_update` builds a Case/When expression object per row and field, which was most of a re-plan's cost;
  this writes the same values to the same rows in one UPDATE per batch.
- `store_event_insert_numbered`: every order change adds a numbered kitchen-screen event; reading the
  store's last number and then inserting took two round trips, one INSERT ... SELECT MAX + 1 takes one.

Both use Django's quoting and field preparation, so they follow the models; both run on PostgreSQL and
SQLite (other backends fall back to the ORM where there is one).
"""

from django.db import connection

from fulfilment.models import StoreEvent


def bulk_update_rows(model, objs: list, fields: list[str]) -> None:
    """`Model.objects.bulk_update(objs, fields)` in one statement without building a Case/When
    expression per row (most of the re-plan's cost): the same values written to the same rows."""
    if not objs:
        return
    if connection.vendor not in ("postgresql", "sqlite"):
        model.objects.bulk_update(objs, fields)
        return
    size = max(1, connection.ops.bulk_batch_size(["pk", "pk", *fields], objs))  # Django's batches
    for start in range(0, len(objs), size):
        _update_batch(model, objs[start:start + size], fields)


def _update_batch(model, objs: list, fields: list[str]) -> None:
    meta = model._meta
    qn = connection.ops.quote_name
    cast = connection.features.requires_casted_case_in_updates
    pk_col = qn(meta.pk.column)
    sets, params = [], []
    for name in fields:
        field = meta.get_field(name)
        whens = []
        for obj in objs:
            whens.append("WHEN %s THEN %s")
            params += [obj.pk, field.get_db_prep_save(getattr(obj, field.attname), connection)]
        case = f"CASE {pk_col} {' '.join(whens)} END"
        if cast:
            case = f"CAST({case} AS {field.db_type(connection)})"
        sets.append(f"{qn(field.column)} = {case}")
    ids = [obj.pk for obj in objs]
    sql = (f"UPDATE {qn(meta.db_table)} SET {', '.join(sets)} "
           f"WHERE {pk_col} IN ({', '.join(['%s'] * len(ids))})")
    with connection.cursor() as cursor:
        cursor.execute(sql, params + ids)


def store_event_insert_numbered(event: StoreEvent) -> tuple[int, int]:
    """Insert the row with the store's next number in one statement (INSERT ... SELECT MAX + 1 ...
    RETURNING): half the round trips of reading the head and then inserting, and every order and
    bump writes two or three events."""
    meta = StoreEvent._meta
    qn = connection.ops.quote_name
    columns = ["store", "kind", "order", "payload", "created_at"]
    fields = [meta.get_field(name) for name in columns]
    values = [field.get_db_prep_save(getattr(event, field.attname), connection) for field in fields]
    table, store_col, seq_col = qn(meta.db_table), qn(meta.get_field("store").column), qn(meta.get_field("seq").column)
    sql = (f"INSERT INTO {table} ({', '.join(qn(field.column) for field in fields)}, {seq_col}) "
           f"SELECT {', '.join(['%s'] * len(values))}, COALESCE(MAX({seq_col}), 0) + 1 FROM {table} "
           f"WHERE {store_col} = %s RETURNING {qn(meta.pk.column)}, {seq_col}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, event.store_id])
        return tuple(cursor.fetchone())
