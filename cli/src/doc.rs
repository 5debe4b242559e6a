//! What the generated documentation says about a catalog, as a small document model that the
//! Markdown (`docs.rs`) and HTML (`html.rs`) renderers share.
//!
//! Text in blocks uses a tiny inline markup that both renderers understand: `` `code` ``,
//! `**bold**` and `[text](#anchor)`. Everything else is plain text.

use std::collections::HashMap;
use std::path::Path;

use tally_catalog::Catalog;
use tally_catalog::model::{
    EventDef, IdentityKindDef, IdentitySource, Naming, OnMissing, Origin, PersonProperty, Privacy, PropertyDef,
    PropertyType, Role,
};

/// A whole generated page.
#[derive(Debug)]
pub(crate) struct Document {
    /// The page title (plain text).
    pub(crate) title: String,
    /// The content, in order.
    pub(crate) blocks: Vec<Block>,
}

/// One block of the page.
#[derive(Debug)]
pub(crate) enum Block {
    /// A heading; `id` is its anchor (GitHub's slug of the text).
    Heading { level: u8, text: String, id: String },
    /// A paragraph.
    Paragraph(String),
    /// A side note (rendered as a quote).
    Note(String),
    /// A bulleted list.
    List(Vec<String>),
    /// A numbered list.
    Numbered(Vec<String>),
    /// A table.
    Table(Table),
    /// One event's documentation, which the HTML page can filter by `search`.
    Event { search: String, blocks: Vec<Block> },
}

/// A table with a header row.
#[derive(Debug)]
pub(crate) struct Table {
    /// The column titles.
    pub(crate) header: Vec<String>,
    /// The rows; each has as many cells as the header.
    pub(crate) rows: Vec<Row>,
}

/// A table row.
#[derive(Debug)]
pub(crate) struct Row {
    /// The cells, in inline markup.
    pub(crate) cells: Vec<String>,
    /// Text the HTML search box matches against; the row is not filtered when `None`.
    pub(crate) search: Option<String>,
}

impl Table {
    fn new(header: &[&str]) -> Self {
        Self { header: header.iter().map(|h| (*h).to_owned()).collect(), rows: Vec::new() }
    }

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(Row { cells, search: None });
    }
}

/// GitHub's heading anchor for a heading text: lower case, markup and punctuation dropped,
/// spaces turned into `-`.
pub(crate) fn slug(text: &str) -> String {
    plain(text)
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// The text of inline markup without the markup.
pub(crate) fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some((label, _, after)) = link(rest) {
            out.push_str(&plain(label));
            rest = after;
        } else if rest.starts_with("**") {
            rest = &rest[2..];
        } else if c == '`' {
            rest = &rest[1..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// `[label](target)` at the start of `text`: the label, the target and the rest.
pub(crate) fn link(text: &str) -> Option<(&str, &str, &str)> {
    let inner = text.strip_prefix('[')?;
    let close = inner.find("](")?;
    let label = &inner[..close];
    if label.contains('[') || label.contains('\n') {
        return None;
    }
    let after_label = &inner[close + 2..];
    let end = after_label.find(')')?;
    let target = &after_label[..end];
    if target.contains(char::is_whitespace) {
        return None;
    }
    Some((label, target, &after_label[end + 1..]))
}

/// Builds the documentation of `catalog`, read from `source` (named in the page).
pub(crate) fn build(catalog: &Catalog, source: &Path) -> Document {
    let mut builder =
        Builder { catalog, blocks: Vec::new(), slugs: HashMap::new(), sections: Vec::new(), anchors: HashMap::new() };
    builder.run(source);
    Document { title: format!("{} — tracking plan", catalog.name()), blocks: builder.blocks }
}

struct Builder<'a> {
    catalog: &'a Catalog,
    blocks: Vec<Block>,
    slugs: HashMap<String, usize>,
    /// The level-2 headings, for the contents list: (text, id).
    sections: Vec<(String, String)>,
    /// Each event's anchor, once its section is built.
    anchors: HashMap<String, String>,
}

impl<'a> Builder<'a> {
    fn run(&mut self, source: &Path) {
        let catalog = self.catalog;
        let title = format!("{} — tracking plan", catalog.name());
        self.heading(1, &title);
        if let Some(description) = catalog.description() {
            self.paragraph(description.trim());
        }
        let mut facts = Table::new(&["", ""]);
        facts.row(vec!["Catalog".into(), code(catalog.name())]);
        facts.row(vec!["Version".into(), catalog.version().to_owned()]);
        if let Some(owner) = catalog.owner() {
            facts.row(vec!["Owner".into(), owner.to_owned()]);
        }
        if !catalog.namespace().is_empty() {
            facts.row(vec!["Wire namespace".into(), code(catalog.namespace())]);
        }
        facts.row(vec!["Naming".into(), code(naming_name(catalog.naming()))]);
        let total = catalog.events().count();
        let client = catalog.events().filter(|(_, e)| e.origin() == Origin::Client).count();
        let deprecated = catalog.events().filter(|(_, e)| e.deprecated().is_some()).count();
        let mut count = total.to_string();
        if client > 0 {
            count.push_str(&format!(", {client} from a front end"));
        }
        if deprecated > 0 {
            count.push_str(&format!(", {deprecated} deprecated"));
        }
        facts.row(vec!["Events".into(), count]);
        self.blocks.push(Block::Table(facts));
        let source = source.display().to_string();
        self.blocks.push(Block::Note(format!(
            "Generated by `tally docs` from `{source}`. Edit the catalog, not this page: `tally docs {source}` \
             regenerates it."
        )));
        let contents_at = self.blocks.len();

        self.naming();
        self.identity();
        self.groups();
        self.common();
        self.categories();
        self.events();
        self.privacy();
        self.funnels();
        self.changelog();

        let items = self.sections.iter().map(|(text, id)| format!("[{text}](#{id})")).collect();
        self.blocks.insert(contents_at, Block::List(items));
        let contents_id = self.unique_slug("Contents");
        self.blocks.insert(contents_at, Block::Heading { level: 2, text: "Contents".into(), id: contents_id });
    }

    // --- helpers ------------------------------------------------------------------------------

    fn unique_slug(&mut self, text: &str) -> String {
        let base = slug(text);
        let seen = self.slugs.entry(base.clone()).or_insert(0);
        let id = if *seen == 0 { base.clone() } else { format!("{base}-{seen}") };
        *seen += 1;
        id
    }

    fn heading(&mut self, level: u8, text: &str) -> String {
        let id = self.unique_slug(text);
        if level == 2 {
            self.sections.push((text.to_owned(), id.clone()));
        }
        self.blocks.push(Block::Heading { level, text: text.to_owned(), id: id.clone() });
        id
    }

    fn paragraph(&mut self, text: &str) {
        self.blocks.push(Block::Paragraph(text.to_owned()));
    }

    fn wire(&self, name: &str) -> String {
        self.catalog.wire_name(name)
    }

    fn wire_code(&self, name: &str) -> String {
        code(&self.wire(name))
    }

    // --- sections -----------------------------------------------------------------------------

    fn naming(&mut self) {
        self.heading(2, "Naming convention");
        let catalog = self.catalog;
        let rule = match catalog.naming() {
            Naming::ResourceAction => {
                "Event names follow `resource.action`: two or more dot-separated lower snake_case segments, the \
                 resource first and the action last (`project.created`, `auth.login_failed`)."
            }
            Naming::SnakeCase => {
                "Event names are one lower snake_case word, the object first and the past-tense action last \
                 (`account_registered`)."
            }
            _ => "Event names follow the catalog's convention.",
        };
        self.paragraph(&format!(
            "{rule} Property, group and identity names are lower snake_case. Names that differ only by case or \
             separators (`identity registered` and `identity_registered`) are the same name to a reader, and \
             `tally check` rejects them."
        ));
        let namespace = catalog.namespace();
        if !namespace.is_empty() {
            let example = catalog.events().next().map(|(name, event)| {
                let property = event.properties().next().map(|(p, _)| p);
                let property =
                    property.map(|p| format!(", its property `{p}` as `{namespace}{p}`")).unwrap_or_default();
                format!(": the catalog's `{name}` is sent as `{namespace}{name}`{property}")
            });
            self.paragraph(&format!(
                "On the wire every event and property name carries the namespace `{namespace}`{}. Names in this \
                 page are wire names.",
                example.unwrap_or_default()
            ));
        }
        let mut exceptions = Vec::new();
        for (name, category) in catalog.categories() {
            if let Some(reason) = category.allowed("naming-convention") {
                exceptions.push(format!("Category `{name}`: {reason}"));
            }
        }
        for (name, event) in catalog.events() {
            if let Some(reason) = event.allowed("naming-convention") {
                exceptions.push(format!("{}: {reason}", self.wire_code(name)));
            }
        }
        if !exceptions.is_empty() {
            self.paragraph("Exceptions, each with its reason:");
            self.blocks.push(Block::List(exceptions));
        }
    }

    fn identity(&mut self) {
        self.heading(2, "Identity");
        let catalog = self.catalog;
        let keyed = self.keyed_events();
        if catalog.identity_kinds().len() == 0 {
            self.paragraph("The catalog declares no identity kind.");
        } else {
            self.paragraph(
                "Each event's PostHog person (its `distinct_id`) is one identity from the request or process \
                 context, chosen by the catalog: the event's own `identity`, else its category's, else the \
                 default.",
            );
            let mut table = Table::new(&["identity", "set", "distinct_id", "pseudonymized", "personal data", "keys"]);
            for (name, kind) in catalog.identity_kinds() {
                let events = keyed.iter().filter(|(k, _)| k.as_deref() == Some(name)).count();
                table.row(vec![
                    code(name),
                    source_label(kind.source()).into(),
                    distinct_id_format(kind),
                    yes_no(kind.pseudonymize()),
                    yes_no(kind.personal()),
                    if events == 0 { "—".into() } else { plural(events, "event") },
                ]);
            }
            self.blocks.push(Block::Table(table));
            let mut details = Vec::new();
            for (name, kind) in catalog.identity_kinds() {
                let mut text = format!("**`{name}`**");
                if let Some(description) = kind.description() {
                    text.push_str(&format!(": {}", one_line(description)));
                }
                if kind.pseudonymize() {
                    text.push_str(
                        " The value is replaced by its keyed hash (HMAC-SHA256) before it leaves the process.",
                    );
                }
                if kind.links().len() > 0 {
                    let links: Vec<String> = kind.links().map(code).collect();
                    text.push_str(&format!(
                        " Events keyed by it also set the distinct_id of {} as person properties (`$set`) when the \
                         context knows them, to cross-link the persons.",
                        links.join(", ")
                    ));
                }
                details.push(text);
            }
            self.blocks.push(Block::List(details));
        }
        match catalog.person() {
            Some(person) => self.paragraph(&format!(
                "**Default:** events are keyed by `{person}` unless their category or the event names another \
                 identity."
            )),
            None => self.paragraph(
                "**Default:** none (`identity.person` is unset): only events whose category or own entry names an \
                 identity are keyed by one.",
            ),
        }
        let (key, sentence) = (on_missing_key(catalog.on_missing()), on_missing_sentence(catalog.on_missing()));
        self.paragraph(&format!("**When the identity is unknown** ({key}): {sentence}"));

        if !keyed.is_empty() && catalog.identity_kinds().len() > 0 {
            self.heading(3, "Which identity keys which events");
            let mut table = Table::new(&["identity", "distinct_id", "events"]);
            let mut kinds: Vec<Option<String>> = Vec::new();
            for (kind, _) in &keyed {
                if !kinds.contains(kind) {
                    kinds.push(kind.clone());
                }
            }
            for kind in kinds {
                let events: Vec<String> =
                    keyed.iter().filter(|(k, _)| *k == kind).map(|(_, name)| self.wire_code(name)).collect();
                let (label, format) = match &kind {
                    Some(kind) => {
                        let format =
                            catalog.identity_kind(kind).map(distinct_id_format).unwrap_or_else(|| code("{id}"));
                        (code(kind), format)
                    }
                    None => ("none".into(), on_missing_short(catalog.on_missing()).into()),
                };
                table.row(vec![label, format, events.join(", ")]);
            }
            self.blocks.push(Block::Table(table));
        }
    }

    /// Every event with the identity kind that keys it, in file order.
    fn keyed_events(&self) -> Vec<(Option<String>, &'a str)> {
        let catalog = self.catalog;
        catalog.events().map(|(name, event)| (catalog.identity_of(event).map(str::to_owned), name)).collect()
    }

    fn groups(&mut self) {
        let groups = self.catalog.groups();
        if groups.len() == 0 {
            return;
        }
        self.heading(2, "Groups");
        self.paragraph(
            "Events carry `$groups` with the keys of the groups the context knows, so PostHog can aggregate by them.",
        );
        let mut table = Table::new(&["group type", "key property", "description"]);
        for (name, group) in groups {
            let property = group.property().map_or_else(|| "—".into(), |p| self.wire_code(p));
            table.row(vec![code(name), property, cell(group.description())]);
        }
        self.blocks.push(Block::Table(table));
    }

    fn common(&mut self) {
        let common = self.catalog.common_properties();
        if common.len() == 0 {
            return;
        }
        self.heading(2, "Common properties");
        self.paragraph(
            "Every event carries these properties (the envelope). Those with a fill source are set by the \
             pipeline; the emitter gives the others.",
        );
        let table = self.property_table(common);
        self.blocks.push(Block::Table(table));
    }

    fn property_table<'p>(&self, properties: impl Iterator<Item = (&'p str, &'p PropertyDef)>) -> Table {
        let mut table = Table::new(&["property", "type", "required", "nullable", "privacy", "fill", "description"]);
        for (name, property) in properties {
            let mut description = property.description().map(one_line).unwrap_or_default();
            if property.privacy() == Privacy::Allowed
                && let Some(reason) = property.reason()
            {
                if !description.is_empty() {
                    description.push(' ');
                }
                description.push_str(&format!("Sent as is because: {}", one_line(reason)));
            }
            table.row(vec![
                self.wire_code(name),
                type_label(property),
                yes_no(property.required()),
                yes_no(property.nullable()),
                privacy_cell(property.privacy()),
                property.fill().map_or_else(|| "—".into(), |fill| code(&fill.to_string())),
                if description.is_empty() { "—".into() } else { description },
            ]);
        }
        table
    }

    fn categories(&mut self) {
        let catalog = self.catalog;
        if catalog.categories().len() == 0 && catalog.retention_classes().len() == 0 {
            return;
        }
        self.heading(2, "Categories and retention");
        if catalog.categories().len() > 0 {
            let mut table = Table::new(&["category", "description", "retention", "identity", "events"]);
            for (name, category) in catalog.categories() {
                let events = catalog.events().filter(|(_, e)| e.category() == Some(name)).count();
                let retention = category.retention().map_or_else(
                    || "—".into(),
                    |class| match catalog.retention_class(class) {
                        Some(retention) => format!("`{class}`: {}", retention.period()),
                        None => code(class),
                    },
                );
                let identity = category.identity().map_or_else(|| "default".into(), code);
                table.row(vec![code(name), cell(category.description()), retention, identity, events.to_string()]);
            }
            self.blocks.push(Block::Table(table));
        }
        if catalog.retention_classes().len() > 0 {
            self.heading(3, "Retention classes");
            let mut table = Table::new(&["class", "kept for", "archived after", "reason", "categories"]);
            for (name, class) in catalog.retention_classes() {
                let categories: Vec<String> =
                    catalog.categories().filter(|(_, c)| c.retention() == Some(name)).map(|(n, _)| code(n)).collect();
                table.row(vec![
                    code(name),
                    class.period().to_owned(),
                    class.archive_after().map_or_else(|| "—".into(), str::to_owned),
                    cell(class.reason()),
                    if categories.is_empty() { "—".into() } else { categories.join(", ") },
                ]);
            }
            self.blocks.push(Block::Table(table));
        }
    }

    fn events(&mut self) {
        self.heading(2, "Events");
        let catalog = self.catalog;
        if catalog.events().next().is_none() {
            self.paragraph("The catalog declares no event yet.");
            return;
        }
        let index_at = self.blocks.len();
        let mut anchors: HashMap<&str, String> = HashMap::new();
        if catalog.categories().len() == 0 {
            for (name, event) in catalog.events() {
                let id = self.event(name, event, 3);
                anchors.insert(name, id);
            }
        } else {
            for (category, info) in catalog.categories() {
                let members: Vec<(&str, &EventDef)> =
                    catalog.events().filter(|(_, e)| e.category() == Some(category)).collect();
                if members.is_empty() {
                    continue;
                }
                self.heading(3, &format!("Category `{category}`"));
                if let Some(description) = info.description() {
                    self.paragraph(&one_line(description));
                }
                for (name, event) in members {
                    let id = self.event(name, event, 4);
                    anchors.insert(name, id);
                }
            }
            let declared = |event: &EventDef| event.category().is_some_and(|c| catalog.category(c).is_some());
            let others: Vec<(&str, &EventDef)> = catalog.events().filter(|(_, e)| !declared(e)).collect();
            if !others.is_empty() {
                self.heading(3, "Without a category");
                for (name, event) in others {
                    let id = self.event(name, event, 4);
                    anchors.insert(name, id);
                }
            }
        }

        let mut index = Table::new(&["event", "category", "description"]);
        for (name, event) in catalog.events() {
            let wire = self.wire(name);
            let target = anchors.get(name).cloned().unwrap_or_default();
            let summary = event.description().map(first_sentence).unwrap_or_default();
            let category = event.category().map_or_else(|| "—".into(), code);
            let mut label = format!("[`{wire}`](#{target})");
            if event.deprecated().is_some() {
                label.push_str(" (deprecated)");
            }
            let search = format!("{wire} {name} {summary}");
            index.rows.push(Row { cells: vec![label, category, cell(Some(&summary))], search: Some(search) });
        }
        self.blocks.insert(index_at, Block::Table(index));
        self.anchors = anchors.into_iter().map(|(name, id)| (name.to_owned(), id)).collect();
    }

    /// A link to an event's section (or its wire name in code when it has none).
    fn event_link(&self, name: &str) -> String {
        match self.anchors.get(name) {
            Some(id) => format!("[{}](#{id})", self.wire_code(name)),
            None => self.wire_code(name),
        }
    }

    /// One event's section; returns its anchor.
    fn event(&mut self, name: &str, event: &EventDef, level: u8) -> String {
        let catalog = self.catalog;
        let wire = self.wire(name);
        let heading = code(&wire);
        let id = self.unique_slug(&heading);
        let mut blocks = vec![Block::Heading { level, text: heading, id: id.clone() }];
        if let Some(deprecation) = event.deprecated() {
            let mut text = "**Deprecated**".to_owned();
            if let Some(since) = deprecation.since() {
                text.push_str(&format!(" since v{since}"));
            }
            if let Some(replacement) = deprecation.replacement() {
                text.push_str(&format!(": emit {} instead", self.wire_code(replacement)));
            }
            text.push('.');
            if let Some(reason) = deprecation.reason() {
                text.push_str(&format!(" {}", one_line(reason)));
            }
            blocks.push(Block::Note(text));
        }
        blocks.push(Block::Paragraph(event.description().map_or_else(|| "No description.".into(), one_line)));
        if let Some(trigger) = event.trigger() {
            blocks.push(Block::Paragraph(format!("**Trigger:** {}", one_line(trigger))));
        }

        let mut facts = Vec::new();
        if !catalog.namespace().is_empty() {
            facts.push(format!("Catalog name: `{name}`"));
        }
        if let Some(category) = event.category() {
            facts.push(format!("Category: `{category}`"));
        }
        let on_missing = on_missing_short(catalog.on_missing());
        match catalog.identity_of(event) {
            Some(kind) => {
                let format = catalog.identity_kind(kind).map(distinct_id_format).unwrap_or_else(|| code("{id}"));
                facts.push(format!("Identity: `{kind}` (distinct_id {format}); when unknown: {on_missing}"));
            }
            None => facts.push(format!("Identity: none; {on_missing}")),
        }
        if let Some(role) = event.role() {
            facts.push(format!("Role: `{}`: {}", role.as_str(), role_sentence(role)));
        }
        facts.push(match event.origin() {
            Origin::Client => "Origin: client (sent by a front end through the validating ingestion endpoint)".into(),
            _ => "Origin: server".into(),
        });
        if let Some(since) = event.since() {
            facts.push(format!("Since: v{since}"));
        }
        if let Some(owner) = event.owner() {
            facts.push(format!("Owner: {owner}"));
        }
        if let Some((property, _)) = catalog.duration_property(event) {
            facts.push(format!("Duration: {} is measured by the front door", self.wire_code(property)));
        }
        blocks.push(Block::List(facts));

        let no_common = catalog.common_properties().len() == 0;
        if event.properties().len() == 0 {
            let common = if no_common { "" } else { " beyond the common ones" };
            blocks.push(Block::Paragraph(format!("**Properties:** none{common}.")));
        } else {
            let common = if no_common { "" } else { " (besides the common ones)" };
            blocks.push(Block::Paragraph(format!("**Properties{common}:**")));
            let table = self.property_table(event.properties());
            blocks.push(Block::Table(table));
        }
        if event.set().len() > 0 || event.set_once().len() > 0 {
            blocks.push(Block::Paragraph("**Person properties:**".into()));
            let mut table = Table::new(&["person property", "set with", "value", "when", "description"]);
            let all =
                event.set().map(|(n, p)| (n, p, "$set")).chain(event.set_once().map(|(n, p)| (n, p, "$set_once")));
            for (person, property, how) in all {
                table.row(self.person_row(person, property, how));
            }
            blocks.push(Block::Table(table));
        }
        let search = format!(
            "{wire} {name} {} {} {}",
            event.description().unwrap_or_default(),
            event.category().unwrap_or_default(),
            event.properties().map(|(name, _)| name).collect::<Vec<_>>().join(" ")
        );
        self.blocks.push(Block::Event { search, blocks });
        id
    }

    fn person_row(&self, name: &str, property: &PersonProperty, how: &str) -> Vec<String> {
        let from = property.from();
        let value = if from == "timestamp" {
            "the event's timestamp".to_owned()
        } else if let Some(source) = from.strip_prefix("property.") {
            format!("the event's {}", self.wire_code(source))
        } else {
            code(from)
        };
        let when = property.when().map_or_else(|| "always".into(), |w| format!("{} is present", self.wire_code(w)));
        vec![self.wire_code(name), code(how), value, when, cell(property.description())]
    }

    fn privacy(&mut self) {
        self.heading(2, "Privacy");
        let catalog = self.catalog;
        self.paragraph(if catalog.scrub_free_text() {
            "**Free-text scrubbing is on:** string values are scrubbed of email addresses, IP addresses, bearer \
             tokens and card-like numbers that no property classification caught."
        } else {
            "**Free-text scrubbing is off** (`privacy.scrub_free_text = false`): only classified properties are \
             treated."
        });
        if !catalog.privacy_rules().is_empty() {
            self.heading(3, "Rules");
            self.blocks.push(Block::List(catalog.privacy_rules().iter().map(|r| one_line(r)).collect()));
        }

        self.heading(3, "Classified properties");
        // (wire property, class, reason) → where it appears.
        let mut classified: Vec<(String, Privacy, Option<String>, Vec<String>)> = Vec::new();
        let mut add = |property: String, p: &PropertyDef, place: String| {
            if p.privacy() == Privacy::None {
                return;
            }
            let reason = p.reason().map(one_line);
            if let Some(entry) =
                classified.iter_mut().find(|(n, class, r, _)| *n == property && *class == p.privacy() && *r == reason)
            {
                entry.3.push(place);
            } else {
                classified.push((property, p.privacy(), reason, vec![place]));
            }
        };
        for (name, property) in catalog.common_properties() {
            add(self.wire(name), property, "every event".into());
        }
        for (event_name, event) in catalog.events() {
            for (name, property) in event.properties() {
                add(self.wire(name), property, self.wire_code(event_name));
            }
        }
        if classified.is_empty() {
            self.paragraph("No property is classified as personal data.");
        } else {
            let mut table = Table::new(&["property", "class", "treatment", "events"]);
            for (property, class, reason, places) in classified {
                let mut treatment = privacy_treatment(class).to_owned();
                if let Some(reason) = reason {
                    treatment.push_str(&format!(" Reason: {reason}"));
                }
                table.row(vec![code(&property), code(class.as_str()), treatment, places.join(", ")]);
            }
            self.blocks.push(Block::Table(table));
        }
        let personal: Vec<String> = catalog
            .identity_kinds()
            .filter(|(_, kind)| kind.personal() || kind.pseudonymize())
            .map(|(name, kind)| {
                let personal = if kind.personal() { "personal data" } else { "an identity" };
                let treatment = if kind.pseudonymize() {
                    "replaced by its keyed hash before it leaves the process"
                } else {
                    "sent as is"
                };
                format!("`{name}` is {personal}, {treatment}.")
            })
            .collect();
        if !personal.is_empty() {
            self.heading(3, "Identities");
            self.blocks.push(Block::List(personal));
        }
    }

    fn funnels(&mut self) {
        let funnels = self.catalog.funnels();
        if funnels.len() == 0 {
            return;
        }
        self.heading(2, "Funnels");
        self.paragraph("`tally dashboard` turns each funnel into a PostHog funnel insight.");
        for (name, funnel) in funnels {
            self.heading(3, &format!("Funnel `{name}`"));
            if let Some(description) = funnel.description() {
                self.paragraph(&one_line(description));
            }
            let steps = funnel.steps().map(|step| self.event_link(step)).collect();
            self.blocks.push(Block::Numbered(steps));
        }
    }

    fn changelog(&mut self) {
        let changelog = self.catalog.changelog();
        if changelog.is_empty() {
            return;
        }
        self.heading(2, "Changelog");
        for entry in changelog {
            let title = match entry.date() {
                Some(date) => format!("{date} — v{}", entry.version()),
                None => format!("v{}", entry.version()),
            };
            self.heading(3, &title);
            self.blocks.push(Block::List(entry.changes().iter().map(|c| one_line(c)).collect()));
        }
    }
}

// --- wording --------------------------------------------------------------------------------------

/// `` `text` ``.
pub(crate) fn code(text: &str) -> String {
    format!("`{text}`")
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.into()
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 { format!("{count} {noun}") } else { format!("{count} {noun}s") }
}

/// Text for a table cell or a list item: one line, or `—` when empty.
fn cell(text: Option<&str>) -> String {
    match text.map(one_line) {
        Some(text) if !text.is_empty() => text,
        _ => "—".into(),
    }
}

/// Collapses whitespace runs (including newlines) into single spaces.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The first sentence of a description.
fn first_sentence(text: &str) -> String {
    let text = one_line(text);
    match text.find(". ") {
        Some(end) => text[..=end].to_owned(),
        None => text,
    }
}

/// The naming convention's name as written in the catalog.
pub(crate) fn naming_name(naming: Naming) -> &'static str {
    match naming {
        Naming::ResourceAction => "resource.action",
        Naming::SnakeCase => "snake_case",
        _ => "a convention this tool does not know",
    }
}

fn source_label(source: IdentitySource) -> &'static str {
    match source {
        IdentitySource::Request => "per request",
        IdentitySource::Process => "once per process",
        _ => "—",
    }
}

fn distinct_id_format(kind: &IdentityKindDef) -> String {
    code(kind.format().unwrap_or("{id}"))
}

fn on_missing_key(on_missing: OnMissing) -> String {
    let value = match on_missing {
        OnMissing::Drop => "drop",
        OnMissing::Personless => "personless",
        OnMissing::Anonymous => "anonymous",
        _ => "…",
    };
    format!("`on_missing = \"{value}\"`")
}

fn on_missing_sentence(on_missing: OnMissing) -> &'static str {
    match on_missing {
        OnMissing::Drop => {
            "the event is not sent at all; it is dropped and counted as `dropped{reason=\"no_identity\"}`."
        }
        OnMissing::Personless => {
            "the event is sent personless (`$process_person_profile: false`) under a random distinct_id."
        }
        OnMissing::Anonymous => {
            "the event is keyed by the request's anonymous id (the middleware's cookie), and sent personless when \
             there is none."
        }
        _ => "a policy this tool does not know.",
    }
}

fn on_missing_short(on_missing: OnMissing) -> &'static str {
    match on_missing {
        OnMissing::Drop => "not sent (dropped and counted)",
        OnMissing::Personless => "sent personless",
        OnMissing::Anonymous => "the anonymous id, else personless",
        _ => "a policy this tool does not know",
    }
}

/// What the middleware does with an event of this role.
pub(crate) fn role_sentence(role: Role) -> &'static str {
    match role {
        Role::Login => "emitted by the middleware after a successful login.",
        Role::LoginFailed => "emitted by the middleware when a login attempt fails.",
        Role::LoginAttempt => "emitted by the middleware for every login attempt, successful or not.",
        Role::Logout => "emitted by the middleware on logout.",
        Role::SessionExpired => "emitted by the middleware when the application reports an expired session.",
        Role::RequestReceived => "emitted by the middleware when an API request arrives (off by default).",
        Role::RequestCompleted => "emitted by the middleware when an API request completes without failing.",
        Role::RequestFailed => "emitted by the middleware when an API request fails.",
        Role::Error => "emitted for an unhandled error (a 5xx, a gRPC error, a panic, an ERROR-level trace).",
        _ => "emitted by the middleware.",
    }
}

fn privacy_cell(privacy: Privacy) -> String {
    match privacy {
        Privacy::None => "—".into(),
        other => code(other.as_str()),
    }
}

fn privacy_treatment(privacy: Privacy) -> &'static str {
    match privacy {
        Privacy::None => "Sent as is.",
        Privacy::Pseudonymize => "Replaced by its keyed hash (HMAC-SHA256, hex) before it leaves the process.",
        Privacy::AnonymizeIp => "Sent with its host part zeroed (/24 for IPv4, /48 for IPv6).",
        Privacy::Drop => "Never sent.",
        Privacy::Allowed => "Personal data sent as is.",
        _ => "Treated as the runtime defines.",
    }
}

/// A property's type with its constraints, e.g. ``enum: `github`, `saml` `` or `string, non-empty`.
pub(crate) fn type_label(property: &PropertyDef) -> String {
    let ty = property.ty();
    let values = || property.values().map(|values| values.iter().map(|v| code(v)).collect::<Vec<_>>().join(", "));
    let mut label = match ty {
        PropertyType::Enum => match values() {
            Some(values) => format!("enum: {values}"),
            None => "enum".into(),
        },
        PropertyType::Array => match property.items() {
            Some(PropertyType::Enum) => match values() {
                Some(values) => format!("array of enum: {values}"),
                None => "array of enum".into(),
            },
            Some(items) => format!("array of {}", items.as_str()),
            None => "array".into(),
        },
        other => other.as_str().to_owned(),
    };
    let unit = if ty == PropertyType::Array { "items" } else { "characters" };
    if property.non_empty() {
        label.push_str(", non-empty");
    }
    if let Some(max) = property.max_length() {
        label.push_str(&format!(", at most {max} {unit}"));
    }
    label
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_github() {
        assert_eq!(slug("Naming convention"), "naming-convention");
        assert_eq!(slug("`tp.user.login`"), "tpuserlogin");
        assert_eq!(slug("Category `server`"), "category-server");
        assert_eq!(slug("2025-10-20 — v1.0.0"), "2025-10-20--v100");
        assert_eq!(slug("`auth.login_failed`"), "authlogin_failed");
    }

    #[test]
    fn plain_text_drops_markup() {
        assert_eq!(plain("[`tp.x`](#tpx) and **bold**"), "tp.x and bold");
        assert_eq!(link("[a](#b) rest"), Some(("a", "#b", " rest")));
        assert_eq!(link("[a] (b)"), None);
    }
}
