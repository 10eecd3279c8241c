-- Templates moved from Handlebars to Scriban (issue 18). Every version stored so far is Handlebars; the app converts
-- them at start (Templates/StoredTemplateConversion.cs) and keeps the text it converted from in former_content.
ALTER TABLE template_versions ADD COLUMN syntax TEXT NOT NULL DEFAULT 'handlebars';
ALTER TABLE template_versions ADD COLUMN former_content TEXT NULL;
