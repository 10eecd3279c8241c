namespace RetentionCampaigns.PublicPages;

/// <summary>Every sentence of the public pages, in German and English.</summary>
public sealed record PageText
{
    public required string Locale { get; init; }
    public required string LinkInvalidTitle { get; init; }
    public required string LinkInvalid { get; init; }
    public required string LinkExpiredTitle { get; init; }
    public required string LinkExpired { get; init; }
    /// <summary>{0}: the shop.</summary>
    public required string ContactUs { get; init; }
    public required string EmailLabel { get; init; }
    public required string NewLinkButton { get; init; }
    public required string TooManyTitle { get; init; }
    public required string TooMany { get; init; }
    public required string BadRequestTitle { get; init; }

    public required string UnsubscribeTitle { get; init; }
    /// <summary>{0}: shop, {1}: masked address.</summary>
    public required string UnsubscribeQuestion { get; init; }
    public required string UnsubscribeButton { get; init; }
    public required string UnsubscribedTitle { get; init; }
    public required string Unsubscribed { get; init; }
    public required string AlreadyUnsubscribed { get; init; }
    public required string UnsubscribeBodyMissing { get; init; }
    public required string OrChoosePreferences { get; init; }
    /// <summary>Shown on every page reached through a test email's or a preview's link.</summary>
    public required string TestLink { get; init; }
    public required string TestNothingChanged { get; init; }

    public required string PreferencesTitle { get; init; }
    public required string PreferencesIntro { get; init; }
    public required string PurposesLegend { get; init; }
    public required IReadOnlyDictionary<string, string> Purposes { get; init; }
    public required string TopicsLegend { get; init; }
    public required string FrequencyLegend { get; init; }
    public required IReadOnlyDictionary<string, string> Frequencies { get; init; }
    public required string PauseLegend { get; init; }
    /// <summary>{0}: the date the pause ends.</summary>
    public required string PausedUntil { get; init; }
    public required IReadOnlyDictionary<string, string> Pauses { get; init; }
    public required string SaveButton { get; init; }
    public required string UnsubscribeAllButton { get; init; }
    public required string SavedTitle { get; init; }
    public required string Saved { get; init; }
    public required string BackToPreferences { get; init; }
    public required string InvalidChoice { get; init; }

    public required string ConfirmTitle { get; init; }
    /// <summary>{0}: shop, {1}: masked address.</summary>
    public required string ConfirmQuestion { get; init; }
    public required string ConfirmButton { get; init; }
    public required string ConfirmedTitle { get; init; }
    public required string Confirmed { get; init; }
    public required string SignupTitle { get; init; }
    public required string SignupSent { get; init; }
    public required string AlreadyConfirmed { get; init; }
    /// <summary>{0}: the field, {1}: what is wrong.</summary>
    public required string SignupInvalid { get; init; }
    public required string SendFailedTitle { get; init; }
    public required string SendFailed { get; init; }

    public required string ReferralTitle { get; init; }
    /// <summary>{0}: shop.</summary>
    public required string ReferralIntro { get; init; }
    /// <summary>{0}: the amount or percentage off.</summary>
    public required string ReferralOffer { get; init; }
    /// <summary>{0}: the minimum order.</summary>
    public required string ReferralMinimum { get; init; }
    /// <summary>{0}: the qualifying minimum (<see cref="ReferralQualifying"/>) or nothing.</summary>
    public required string ReferralHowTo { get; init; }
    public required string ReferralQualifying { get; init; }
    /// <summary>A percentage offer's worth, {0} the number.</summary>
    public required string ReferralPercent { get; init; }
    /// <summary>{0}: shop.</summary>
    public required string ReferralButton { get; init; }
    public required string ReferralUnknownTitle { get; init; }
    /// <summary>{0}: shop.</summary>
    public required string ReferralUnknown { get; init; }

    public string DateFormat => Locale == "de" ? "d. MMMM yyyy" : "d MMMM yyyy";

    public static PageText For(string locale) => locale == "en" ? English : German;

    static readonly PageText German = new()
    {
        Locale = "de",
        LinkInvalidTitle = "Dieser Link ist ungültig",
        LinkInvalid = "Bitte prüfen Sie, ob der Link vollständig aus der E-Mail übernommen wurde.",
        LinkExpiredTitle = "Dieser Link ist abgelaufen",
        LinkExpired = "Der Link war nur eine begrenzte Zeit gültig. Bitte fordern Sie einen neuen an.",
        ContactUs = "Fragen? {0} erreichen Sie unter",
        EmailLabel = "Ihre E-Mail-Adresse",
        NewLinkButton = "Neuen Link per E-Mail senden",
        TooManyTitle = "Zu viele Anfragen",
        TooMany = "Bitte warten Sie eine Minute und versuchen Sie es dann noch einmal.",
        BadRequestTitle = "Das hat nicht geklappt",
        UnsubscribeTitle = "Vom Newsletter abmelden",
        UnsubscribeQuestion = "Möchten Sie keine E-Mails mit Angeboten und Neuigkeiten von {0} mehr an {1} erhalten?",
        UnsubscribeButton = "Abmelden",
        UnsubscribedTitle = "Sie sind abgemeldet",
        Unsubscribed = "Sie erhalten ab sofort keine E-Mails mit Angeboten und Neuigkeiten mehr von uns. E-Mails zu Ihren Bestellungen bekommen Sie weiterhin.",
        AlreadyUnsubscribed = "Sie sind bereits abgemeldet und erhalten keine E-Mails mit Angeboten und Neuigkeiten von uns.",
        UnsubscribeBodyMissing = "Die Abmeldung braucht den Inhalt „List-Unsubscribe=One-Click“. Bitte nutzen Sie die Schaltfläche auf der Abmeldeseite.",
        OrChoosePreferences = "Lieber nur weniger E-Mails? Wählen Sie in Ihren E-Mail-Einstellungen, was und wie oft wir schreiben.",
        TestLink = "Test: Dieser Link stammt aus einer Test-E-Mail oder Vorschau. Die Seite zeigt, was Kundinnen und Kunden sehen; hier wird nichts geändert.",
        TestNothingChanged = "Test: Nichts wurde geändert. In einer echten E-Mail wäre diese Aktion jetzt ausgeführt.",
        PreferencesTitle = "Ihre E-Mail-Einstellungen",
        PreferencesIntro = "Hier legen Sie fest, was wir Ihnen an {0} schicken dürfen und wie oft.",
        PurposesLegend = "Einwilligungen",
        Purposes = new Dictionary<string, string>
        {
            ["email_marketing"] = "E-Mails mit Angeboten und Neuigkeiten",
            ["tracking"] = "Öffnungen und Klicks auswerten, damit unsere E-Mails besser zu Ihnen passen",
            ["referral_program"] = "Am Empfehlungsprogramm teilnehmen",
        },
        TopicsLegend = "Themen",
        FrequencyLegend = "Wie oft?",
        Frequencies = new Dictionary<string, string>
        {
            ["any"] = "So oft es etwas Neues gibt",
            ["weekly"] = "Höchstens eine E-Mail pro Woche",
            ["monthly"] = "Höchstens eine E-Mail im Monat",
        },
        PauseLegend = "Pause",
        PausedUntil = "Ihre E-Mails pausieren bis zum {0}.",
        Pauses = new Dictionary<string, string>
        {
            ["keep"] = "Nichts ändern",
            ["none"] = "Keine Pause",
            ["30"] = "30 Tage pausieren",
            ["90"] = "90 Tage pausieren",
        },
        SaveButton = "Einstellungen speichern",
        UnsubscribeAllButton = "Von allen E-Mails mit Angeboten abmelden",
        SavedTitle = "Gespeichert",
        Saved = "Ihre Einstellungen sind gespeichert und gelten ab sofort.",
        BackToPreferences = "Zurück zu den Einstellungen",
        InvalidChoice = "Eine Auswahl war ungültig: {0}. Bitte versuchen Sie es noch einmal.",
        ConfirmTitle = "Anmeldung bestätigen",
        ConfirmQuestion = "Bitte bestätigen Sie, dass {0} Ihnen E-Mails mit Angeboten und Neuigkeiten an {1} schicken darf. Sie können sich jederzeit wieder abmelden.",
        ConfirmButton = "Ja, ich möchte E-Mails erhalten",
        ConfirmedTitle = "Vielen Dank!",
        Confirmed = "Ihre Anmeldung ist bestätigt.",
        SignupTitle = "Fast geschafft",
        SignupSent = "Wir haben Ihnen eine E-Mail geschickt. Bitte bestätigen Sie Ihre Anmeldung mit dem Link darin.",
        AlreadyConfirmed = "Ihre Anmeldung war bereits bestätigt. Es ist nichts weiter zu tun.",
        SignupInvalid = "Die Anmeldung hat nicht geklappt: {0} {1} Bitte gehen Sie zurück und versuchen Sie es noch einmal.",
        SendFailedTitle = "Das hat gerade nicht geklappt",
        SendFailed = "Wir konnten die Bestätigungs-E-Mail gerade nicht verschicken. Bitte versuchen Sie es in einigen Minuten noch einmal.",
        ReferralTitle = "Schön, dass Sie da sind!",
        ReferralIntro = "Jemand, der gern bei {0} einkauft, hat Ihnen diesen Link geschickt.",
        ReferralOffer = "Ihr Willkommensgeschenk: ein Gutschein über {0}",
        ReferralMinimum = " für eine Bestellung ab {0}",
        ReferralPercent = "{0} % Rabatt",
        ReferralHowTo = "Kaufen Sie über diesen Link bei uns ein: Nach Ihrer ersten Bestellung{0} erhalten Sie den Gutschein für Ihren nächsten Einkauf.",
        ReferralQualifying = " ab {0}",
        ReferralButton = "Zu {0}",
        ReferralUnknownTitle = "Dieser Link ist nicht gültig",
        ReferralUnknown = "Diesen Empfehlungslink kennen wir nicht. Schauen Sie sich trotzdem gern bei {0} um.",
    };

    static readonly PageText English = new()
    {
        Locale = "en",
        LinkInvalidTitle = "This link is not valid",
        LinkInvalid = "Please check that the whole link was copied from the email.",
        LinkExpiredTitle = "This link has expired",
        LinkExpired = "The link was valid for a limited time only. Please ask for a new one.",
        ContactUs = "Questions? You can reach {0} at",
        EmailLabel = "Your email address",
        NewLinkButton = "Email me a new link",
        TooManyTitle = "Too many requests",
        TooMany = "Please wait a minute and try again.",
        BadRequestTitle = "That did not work",
        UnsubscribeTitle = "Unsubscribe",
        UnsubscribeQuestion = "Do you no longer want emails with offers and news from {0} at {1}?",
        UnsubscribeButton = "Unsubscribe",
        UnsubscribedTitle = "You are unsubscribed",
        Unsubscribed = "From now on you will receive no more emails with offers and news from us. Emails about your orders still reach you.",
        AlreadyUnsubscribed = "You are already unsubscribed and receive no emails with offers and news from us.",
        UnsubscribeBodyMissing = "Unsubscribing needs the content \"List-Unsubscribe=One-Click\". Please use the button on the unsubscribe page.",
        OrChoosePreferences = "Just fewer emails? Choose what we send and how often in your email preferences.",
        TestLink = "Test: this link comes from a test email or a preview. The page shows what customers see; nothing here is changed.",
        TestNothingChanged = "Test: nothing was changed. In a real email this action would have taken effect now.",
        PreferencesTitle = "Your email preferences",
        PreferencesIntro = "Choose what we may send to {0} and how often.",
        PurposesLegend = "Permissions",
        Purposes = new Dictionary<string, string>
        {
            ["email_marketing"] = "Emails with offers and news",
            ["tracking"] = "Count opens and clicks so our emails suit you better",
            ["referral_program"] = "Take part in the referral programme",
        },
        TopicsLegend = "Topics",
        FrequencyLegend = "How often?",
        Frequencies = new Dictionary<string, string>
        {
            ["any"] = "Whenever there is something new",
            ["weekly"] = "At most one email a week",
            ["monthly"] = "At most one email a month",
        },
        PauseLegend = "Pause",
        PausedUntil = "Your emails are paused until {0}.",
        Pauses = new Dictionary<string, string>
        {
            ["keep"] = "No change",
            ["none"] = "No pause",
            ["30"] = "Pause for 30 days",
            ["90"] = "Pause for 90 days",
        },
        SaveButton = "Save preferences",
        UnsubscribeAllButton = "Unsubscribe from all emails with offers",
        SavedTitle = "Saved",
        Saved = "Your preferences are saved and apply from now on.",
        BackToPreferences = "Back to your preferences",
        InvalidChoice = "A choice was not valid: {0}. Please try again.",
        ConfirmTitle = "Confirm your sign-up",
        ConfirmQuestion = "Please confirm that {0} may send emails with offers and news to {1}. You can unsubscribe at any time.",
        ConfirmButton = "Yes, I want to receive emails",
        ConfirmedTitle = "Thank you!",
        Confirmed = "Your sign-up is confirmed.",
        SignupTitle = "Almost done",
        SignupSent = "We have sent you an email. Please confirm your sign-up with the link in it.",
        AlreadyConfirmed = "Your sign-up was confirmed already. There is nothing more to do.",
        SignupInvalid = "The sign-up did not work: {0} {1} Please go back and try again.",
        SendFailedTitle = "That did not work just now",
        SendFailed = "We could not send the confirmation email just now. Please try again in a few minutes.",
        ReferralTitle = "Welcome!",
        ReferralIntro = "Someone who enjoys shopping at {0} sent you this link.",
        ReferralOffer = "Your welcome gift: a voucher for {0}",
        ReferralMinimum = " on an order of {0} or more",
        ReferralPercent = "{0}% off",
        ReferralHowTo = "Shop with us through this link: after your first order{0} you receive the voucher for your next purchase.",
        ReferralQualifying = " of {0} or more",
        ReferralButton = "Go to {0}",
        ReferralUnknownTitle = "This link is not valid",
        ReferralUnknown = "We do not know this referral link. You are welcome to look around {0} anyway.",
    };
}
