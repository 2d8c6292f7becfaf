EXECUTE IMMEDIATE $$
BEGIN
BEGIN TRANSACTION;
MERGE INTO ${target} AS t
USING (
    SELECT * FROM ${stream}
    QUALIFY row_number() OVER (PARTITION BY country_code, year, record_type
                               ORDER BY extracted_at DESC, loaded_at DESC, load_id DESC) = 1
) AS s
ON t.country_code = s.country_code AND t.year = s.year AND t.record_type = s.record_type
WHEN MATCHED AND (s.extracted_at > t.extracted_at
                  OR (s.extracted_at = t.extracted_at AND s.loaded_at >= t.loaded_at)) THEN
    UPDATE SET country_name = s.country_name, short_name = s.short_name, iso_alpha2 = s.iso_alpha2, iso_alpha3 = s.iso_alpha3, is_aggregate = s.is_aggregate, crop_land = s.crop_land, grazing_land = s.grazing_land, forest_land = s.forest_land, fishing_ground = s.fishing_ground, builtup_land = s.builtup_land, carbon = s.carbon, value = s.value, score = s.score, extra = s.extra, run_id = s.run_id, batch_id = s.batch_id, source_key = s.source_key, extracted_at = s.extracted_at, file_name = s.file_name, load_id = s.load_id, loaded_at = s.loaded_at
WHEN NOT MATCHED THEN
    INSERT (year, country_code, country_name, short_name, iso_alpha2, iso_alpha3, is_aggregate, record_type, crop_land, grazing_land, forest_land, fishing_ground, builtup_land, carbon, value, score, extra, run_id, batch_id, source_key, extracted_at, file_name, load_id, loaded_at)
    VALUES (s.year, s.country_code, s.country_name, s.short_name, s.iso_alpha2, s.iso_alpha3, s.is_aggregate, s.record_type, s.crop_land, s.grazing_land, s.forest_land, s.fishing_ground, s.builtup_land, s.carbon, s.value, s.score, s.extra, s.run_id, s.batch_id, s.source_key, s.extracted_at, s.file_name, s.load_id, s.loaded_at);
MERGE INTO ${dims} AS t
USING (
    SELECT country_code,
           max_by(country_name, year) AS country_name,
           max_by(short_name, year) AS short_name,
           max_by(iso_alpha2, year) AS iso_alpha2,
           max_by(iso_alpha3, year) AS iso_alpha3,
           max(CASE WHEN is_aggregate THEN 1 ELSE 0 END) = 1 AS is_aggregate,
           min(year) AS first_year,
           max(year) AS last_year
    FROM ${stream}
    GROUP BY country_code
) AS s
ON t.country_code = s.country_code
WHEN MATCHED THEN UPDATE SET
    country_name = CASE WHEN s.last_year >= t.last_year THEN s.country_name ELSE t.country_name END,
    short_name = CASE WHEN s.last_year >= t.last_year THEN s.short_name ELSE t.short_name END,
    iso_alpha2 = CASE WHEN s.last_year >= t.last_year THEN s.iso_alpha2 ELSE t.iso_alpha2 END,
    iso_alpha3 = CASE WHEN s.last_year >= t.last_year THEN s.iso_alpha3 ELSE t.iso_alpha3 END,
    is_aggregate = s.is_aggregate,
    first_year = least(t.first_year, s.first_year),
    last_year = greatest(t.last_year, s.last_year)
WHEN NOT MATCHED THEN
    INSERT (country_code, country_name, short_name, iso_alpha2, iso_alpha3, is_aggregate, first_year, last_year)
    VALUES (s.country_code, s.country_name, s.short_name, s.iso_alpha2, s.iso_alpha3, s.is_aggregate, s.first_year, s.last_year);
COMMIT;
END;
$$
