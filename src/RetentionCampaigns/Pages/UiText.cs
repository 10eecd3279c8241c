namespace RetentionCampaigns.Pages;

/// <summary>
/// The marketer UI's texts: the English text is the key, Resources/UiText.de.resx the German. Views take them
/// through <c>IStringLocalizer&lt;UiText&gt;</c>; the culture is the user's chosen language, else the browser's.
/// </summary>
public sealed class UiText;
